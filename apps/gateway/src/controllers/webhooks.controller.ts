import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentUser, RequirePermissions } from '@app/auth';
import { EVENT_TYPES, Idempotent, Page, Permission, Principal } from '@app/core';
import {
  CreatedWebhookDto,
  CreateWebhookDto,
  ListDeliveriesQueryDto,
  ListWebhooksQueryDto,
  UpdateWebhookDto,
  WebhookDeliveryDto,
  WebhookDto,
  WebhooksService,
} from '@app/webhooks';
import { FastifyReply } from 'fastify';
import { ApiPage } from '../http/api-page.decorator';

@ApiTags('webhooks')
@Controller('webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  @RequirePermissions(Permission.WebhooksWrite)
  @Idempotent()
  @ApiOperation({
    summary:
      'Subscribe a URL to events (platform-wide: administrators; with projectId: that project’s members)',
  })
  @ApiCreatedResponse({ type: CreatedWebhookDto })
  create(@CurrentUser() principal: Principal, @Body() dto: CreateWebhookDto): Promise<CreatedWebhookDto> {
    return this.webhooks.create(principal, dto);
  }

  @Get()
  @RequirePermissions(Permission.WebhooksRead)
  @ApiOperation({ summary: 'Webhooks you manage (administrators: all)' })
  @ApiPage(WebhookDto)
  list(@CurrentUser() principal: Principal, @Query() query: ListWebhooksQueryDto): Promise<Page<WebhookDto>> {
    return this.webhooks.list(principal, query);
  }

  @Get('events')
  @RequirePermissions(Permission.WebhooksRead)
  @ApiOperation({ summary: 'The events a webhook can subscribe to' })
  @ApiOkResponse({
    schema: {
      type: 'object',
      properties: { data: { type: 'array', items: { type: 'string', enum: [...EVENT_TYPES] } } },
    },
  })
  events(): { data: string[] } {
    return { data: [...EVENT_TYPES] };
  }

  @Get(':webhookId')
  @RequirePermissions(Permission.WebhooksRead)
  @ApiOperation({ summary: 'One webhook (its secret is never shown again)' })
  @ApiOkResponse({ type: WebhookDto })
  get(@CurrentUser() principal: Principal, @Param('webhookId') webhookId: string): Promise<WebhookDto> {
    return this.webhooks.get(principal, webhookId);
  }

  @Put(':webhookId')
  @RequirePermissions(Permission.WebhooksWrite)
  @ApiOperation({
    summary: 'Change URL, events, secret, description; active: true re-enables a disabled webhook',
  })
  @ApiOkResponse({ type: WebhookDto })
  update(
    @CurrentUser() principal: Principal,
    @Param('webhookId') webhookId: string,
    @Body() dto: UpdateWebhookDto,
  ): Promise<WebhookDto> {
    return this.webhooks.update(principal, webhookId, dto);
  }

  @Delete(':webhookId')
  @RequirePermissions(Permission.WebhooksWrite)
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a webhook and its delivery log' })
  @ApiNoContentResponse()
  async remove(@CurrentUser() principal: Principal, @Param('webhookId') webhookId: string): Promise<void> {
    await this.webhooks.remove(principal, webhookId);
  }

  @Get(':webhookId/deliveries')
  @RequirePermissions(Permission.WebhooksRead)
  @ApiOperation({ summary: 'The delivery log, newest first' })
  @ApiPage(WebhookDeliveryDto)
  deliveries(
    @CurrentUser() principal: Principal,
    @Param('webhookId') webhookId: string,
    @Query() query: ListDeliveriesQueryDto,
  ): Promise<Page<WebhookDeliveryDto>> {
    return this.webhooks.deliveries(principal, webhookId, query);
  }

  @Get(':webhookId/deliveries/:deliveryId')
  @RequirePermissions(Permission.WebhooksRead)
  @ApiOperation({
    summary:
      'One delivery with the body sent and every attempt (request headers, status, duration, response excerpt, error)',
  })
  @ApiOkResponse({ type: WebhookDeliveryDto })
  delivery(
    @CurrentUser() principal: Principal,
    @Param('webhookId') webhookId: string,
    @Param('deliveryId') deliveryId: string,
  ): Promise<WebhookDeliveryDto> {
    return this.webhooks.delivery(principal, webhookId, deliveryId);
  }

  @Post(':webhookId/deliveries/:deliveryId/redeliver')
  @RequirePermissions(Permission.WebhooksWrite)
  @HttpCode(202)
  @ApiOperation({ summary: 'Send a delivery again (same webhook-id, so receivers can deduplicate)' })
  @ApiAcceptedResponse({
    type: WebhookDeliveryDto,
    headers: { Location: { description: 'The delivery to poll', schema: { type: 'string' } } },
  })
  async redeliver(
    @CurrentUser() principal: Principal,
    @Param('webhookId') webhookId: string,
    @Param('deliveryId') deliveryId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WebhookDeliveryDto> {
    const delivery = await this.webhooks.redeliver(principal, webhookId, deliveryId);
    reply.header('Location', `/v2/webhooks/${webhookId}/deliveries/${delivery.id}`);
    return delivery;
  }

  @Post(':webhookId/ping')
  @RequirePermissions(Permission.WebhooksWrite)
  @HttpCode(202)
  @ApiOperation({ summary: 'Send a ping event to this webhook now' })
  @ApiAcceptedResponse({
    type: WebhookDeliveryDto,
    headers: { Location: { description: 'The delivery to poll', schema: { type: 'string' } } },
  })
  async ping(
    @CurrentUser() principal: Principal,
    @Param('webhookId') webhookId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WebhookDeliveryDto> {
    const delivery = await this.webhooks.ping(principal, webhookId);
    reply.header('Location', `/v2/webhooks/${webhookId}/deliveries/${delivery.id}`);
    return delivery;
  }
}

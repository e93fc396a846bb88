import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import { Authenticated, CurrentUser, RequirePermissions } from '@app/auth';
import { LongLived } from '@app/ratelimit';
import { Idempotent, Page, Permission, Principal } from '@app/core';
import { FlowCommentDto, FlowDto, FlowsService, ListFlowsQueryDto, StartFlowDto } from '@app/flows';
import { FastifyReply } from 'fastify';
import { ApiPage } from '../http/api-page.decorator';
import { parseLastEventId, sendEventStream } from '../http/sse';

@ApiTags('flows')
@Controller()
export class FlowsController {
  constructor(private readonly flows: FlowsService) {}

  @Post('tasks/:taskId/flows')
  @Authenticated()
  @Idempotent()
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Take a task through the agents in order (default product, architecture, api, backend, test, devops), stopping at the gates for approval (default after product and before the merge); needs the role of the first stage',
  })
  @ApiAcceptedResponse({
    type: FlowDto,
    headers: { Location: { description: 'The flow to poll', schema: { type: 'string' } } },
  })
  async start(
    @CurrentUser() principal: Principal,
    @Param('taskId') taskId: string,
    @Body() dto: StartFlowDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<FlowDto> {
    const flow = await this.flows.start(principal, taskId, dto);
    reply.header('Location', flow.progressUrl);
    return flow;
  }

  @Get('flows')
  @RequirePermissions(Permission.AgentsRead)
  @ApiOperation({ summary: 'Flows you can see, by task and status, newest first' })
  @ApiPage(FlowDto)
  list(@CurrentUser() principal: Principal, @Query() query: ListFlowsQueryDto): Promise<Page<FlowDto>> {
    return this.flows.list(principal, query);
  }

  @Get('flows/:flowId')
  @RequirePermissions(Permission.AgentsRead)
  @ApiOperation({ summary: 'A flow: its stages with their activations and change, the gate it waits at' })
  @ApiOkResponse({ type: FlowDto })
  get(@CurrentUser() principal: Principal, @Param('flowId') flowId: string): Promise<FlowDto> {
    return this.flows.get(principal, flowId);
  }

  @Get('flows/:flowId/events')
  @RequirePermissions(Permission.AgentsRead)
  @LongLived() // an open stream holds no rate-limit in-flight slot
  @ApiOperation({
    summary:
      "Server-Sent Events of the flow, in one order: its own (stage, gate, merge, deployment, flow.<status>) and its stages' activations' (progress, log, step, ...) with their stage; ends with the flow. Reconnect with Last-Event-ID to get what you missed.",
  })
  @ApiProduces('text/event-stream')
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'Resume the stream after this event' })
  async events(
    @CurrentUser() principal: Principal,
    @Param('flowId') flowId: string,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const events = await this.flows.stream(principal, flowId, parseLastEventId(lastEventId));
    await sendEventStream(reply, async function* (signal) {
      for await (const item of events(signal))
        yield 'heartbeat' in item ? item : { id: Number(item.id), event: item.event, data: item.data };
    });
  }

  @Post('flows/:flowId/approve')
  @Authenticated()
  @HttpCode(200)
  @ApiOperation({
    summary:
      "Approve the gate the flow waits at (the next stage's role; the merge gate: developer, architect); the comment reaches the next stage",
  })
  @ApiOkResponse({ type: FlowDto })
  approve(
    @CurrentUser() principal: Principal,
    @Param('flowId') flowId: string,
    @Body() dto: FlowCommentDto,
  ): Promise<FlowDto> {
    return this.flows.approve(principal, flowId, dto);
  }

  @Post('flows/:flowId/retry-stage')
  @Authenticated()
  @HttpCode(200)
  @ApiOperation({
    summary:
      "Run the stage at hand again (the one a gate waits after, or where a failed flow stopped), the comment as its feedback; that stage's role",
  })
  @ApiOkResponse({ type: FlowDto })
  retryStage(
    @CurrentUser() principal: Principal,
    @Param('flowId') flowId: string,
    @Body() dto: FlowCommentDto,
  ): Promise<FlowDto> {
    return this.flows.retryStage(principal, flowId, dto);
  }

  @Post('flows/:flowId/reject')
  @Authenticated()
  @HttpCode(200)
  @ApiOperation({ summary: 'Reject the gate: the flow ends rejected' })
  @ApiOkResponse({ type: FlowDto })
  reject(
    @CurrentUser() principal: Principal,
    @Param('flowId') flowId: string,
    @Body() dto: FlowCommentDto,
  ): Promise<FlowDto> {
    return this.flows.reject(principal, flowId, dto);
  }

  @Post('flows/:flowId/cancel')
  @Authenticated()
  @HttpCode(200)
  @ApiOperation({ summary: 'Cancel a flow and the activation it runs' })
  @ApiOkResponse({ type: FlowDto })
  cancel(@CurrentUser() principal: Principal, @Param('flowId') flowId: string): Promise<FlowDto> {
    return this.flows.cancel(principal, flowId);
  }
}

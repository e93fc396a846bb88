import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  ApiClientDto,
  ApiClientsService,
  ApiClientWithSecretDto,
  CreateApiClientDto,
  CurrentUser,
  ListApiClientsQueryDto,
  RequirePermissions,
} from '@app/auth';
import { Page, Permission, Principal } from '@app/core';
import { ApiPage } from '../http/api-page.decorator';

@ApiTags('auth')
@Controller('auth/clients')
export class ApiClientsController {
  constructor(private readonly clients: ApiClientsService) {}

  @Post()
  @RequirePermissions(Permission.ClientsWrite)
  @ApiOperation({ summary: 'Create an API client acting as you; the secret is returned only now' })
  @ApiCreatedResponse({ type: ApiClientWithSecretDto })
  create(
    @CurrentUser() principal: Principal,
    @Body() dto: CreateApiClientDto,
  ): Promise<ApiClientWithSecretDto> {
    return this.clients.create(principal, dto);
  }

  @Get()
  @RequirePermissions(Permission.ClientsRead)
  @ApiOperation({ summary: 'Your API clients (an administrator may ask for anyone’s with ownerId)' })
  @ApiPage(ApiClientDto)
  list(
    @CurrentUser() principal: Principal,
    @Query() query: ListApiClientsQueryDto,
  ): Promise<Page<ApiClientDto>> {
    return this.clients.list(principal, query);
  }

  @Delete(':clientId')
  @RequirePermissions(Permission.ClientsWrite)
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete an API client; its tokens stop working at once' })
  async remove(@CurrentUser() principal: Principal, @Param('clientId') clientId: string): Promise<void> {
    await this.clients.remove(principal, clientId);
  }

  @Post(':clientId/rotate-secret')
  @RequirePermissions(Permission.ClientsWrite)
  @HttpCode(200)
  @ApiOperation({ summary: 'Replace the client secret; the new one is returned only now' })
  @ApiOkResponse({ type: ApiClientWithSecretDto })
  rotate(
    @CurrentUser() principal: Principal,
    @Param('clientId') clientId: string,
  ): Promise<ApiClientWithSecretDto> {
    return this.clients.rotateSecret(principal, clientId);
  }
}

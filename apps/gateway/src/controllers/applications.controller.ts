import { Body, Controller, Get, Param, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentUser, RequirePermissions } from '@app/auth';
import { Idempotent, Page, Permission, Principal } from '@app/core';
import {
  ApplicationDto,
  ApplicationsService,
  CreateApplicationDto,
  CreatedApplicationDto,
  ListApplicationsQueryDto,
} from '@app/deployments';
import { ApiPage } from '../http/api-page.decorator';

@ApiTags('deployments')
@Controller('applications')
export class ApplicationsController {
  constructor(private readonly applications: ApplicationsService) {}

  @Post()
  @RequirePermissions(Permission.ApplicationsWrite)
  @Idempotent()
  @ApiOperation({
    summary:
      'Define an application of a project and its deploy target: {type: "script", command} or {type: "webhook", url} (devops and admin)',
  })
  @ApiCreatedResponse({ type: CreatedApplicationDto })
  create(
    @CurrentUser() principal: Principal,
    @Body() dto: CreateApplicationDto,
  ): Promise<CreatedApplicationDto> {
    return this.applications.create(principal, dto);
  }

  @Get()
  @RequirePermissions(Permission.ApplicationsRead)
  @ApiOperation({ summary: 'Applications of the projects you can see' })
  @ApiPage(ApplicationDto)
  list(
    @CurrentUser() principal: Principal,
    @Query() query: ListApplicationsQueryDto,
  ): Promise<Page<ApplicationDto>> {
    return this.applications.list(principal, query);
  }

  @Get(':applicationId')
  @RequirePermissions(Permission.ApplicationsRead)
  @ApiOperation({ summary: 'One application, with what is live in each environment' })
  @ApiOkResponse({ type: ApplicationDto })
  get(
    @CurrentUser() principal: Principal,
    @Param('applicationId') applicationId: string,
  ): Promise<ApplicationDto> {
    return this.applications.get(principal, applicationId);
  }
}

import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentUser, RequirePermissions } from '@app/auth';
import { Idempotent, Page, Permission, Principal } from '@app/core';
import {
  ApproveDeploymentDto,
  CreateDeploymentDto,
  DeploymentDto,
  DeploymentsService,
  ListDeploymentsQueryDto,
  RejectDeploymentDto,
  RollbackDeploymentDto,
} from '@app/deployments';
import { FastifyReply } from 'fastify';
import { ApiPage } from '../http/api-page.decorator';

const POLL_HERE = { Location: { description: 'The deployment to poll', schema: { type: 'string' } } };

@ApiTags('deployments')
@Controller('deployments')
export class DeploymentsController {
  constructor(private readonly deployments: DeploymentsService) {}

  @Post()
  @RequirePermissions(Permission.DeploymentsWrite)
  @Idempotent()
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Deploy a version of an application to an environment (rolling, blue-green or canary); prod needs approvals and waits in pending_approval; one deployment at a time per application and environment, the others wait in queued',
  })
  @ApiAcceptedResponse({ type: DeploymentDto, headers: POLL_HERE })
  async create(
    @CurrentUser() principal: Principal,
    @Body() dto: CreateDeploymentDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<DeploymentDto> {
    const deployment = await this.deployments.create(principal, dto);
    reply.header('Location', `/v2/deployments/${deployment.deploymentId}`);
    return deployment;
  }

  @Get()
  @RequirePermissions(Permission.DeploymentsRead)
  @ApiOperation({ summary: 'Deployments of the projects you can see, newest first' })
  @ApiPage(DeploymentDto)
  list(
    @CurrentUser() principal: Principal,
    @Query() query: ListDeploymentsQueryDto,
  ): Promise<Page<DeploymentDto>> {
    return this.deployments.list(principal, query);
  }

  @Get(':deploymentId')
  @RequirePermissions(Permission.DeploymentsRead)
  @ApiOperation({ summary: 'One deployment with its approvals and every step of its plan' })
  @ApiOkResponse({ type: DeploymentDto })
  get(
    @CurrentUser() principal: Principal,
    @Param('deploymentId') deploymentId: string,
  ): Promise<DeploymentDto> {
    return this.deployments.get(principal, deploymentId);
  }

  @Post(':deploymentId/approve')
  @RequirePermissions(Permission.DeploymentApprovalsWrite)
  @HttpCode(200)
  @ApiOperation({
    summary: 'Approve as one of its named approvers; with every approval it is queued to run',
  })
  @ApiOkResponse({ type: DeploymentDto })
  approve(
    @CurrentUser() principal: Principal,
    @Param('deploymentId') deploymentId: string,
    @Body() dto: ApproveDeploymentDto,
  ): Promise<DeploymentDto> {
    return this.deployments.approve(principal, deploymentId, dto);
  }

  @Post(':deploymentId/reject')
  @RequirePermissions(Permission.DeploymentApprovalsWrite)
  @HttpCode(200)
  @ApiOperation({ summary: 'Reject as one of its named approvers, with a reason: it will not run' })
  @ApiOkResponse({ type: DeploymentDto })
  reject(
    @CurrentUser() principal: Principal,
    @Param('deploymentId') deploymentId: string,
    @Body() dto: RejectDeploymentDto,
  ): Promise<DeploymentDto> {
    return this.deployments.reject(principal, deploymentId, dto);
  }

  @Post(':deploymentId/rollback')
  @RequirePermissions(Permission.DeploymentsWrite)
  @Idempotent()
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Roll the current deployment of an environment back: a new deployment of targetVersion (default: the last version that succeeded there before); this one becomes rolled_back',
  })
  @ApiAcceptedResponse({ type: DeploymentDto, headers: POLL_HERE })
  async rollback(
    @CurrentUser() principal: Principal,
    @Param('deploymentId') deploymentId: string,
    @Body() dto: RollbackDeploymentDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<DeploymentDto> {
    const deployment = await this.deployments.rollback(principal, deploymentId, dto);
    reply.header('Location', `/v2/deployments/${deployment.deploymentId}`);
    return deployment;
  }
}

import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Authenticated, CurrentUser, RequirePermissions } from '@app/auth';
import { Idempotent, Page, Permission, Principal } from '@app/core';
import { FlowCommentDto, FlowDto, FlowsService, ListFlowsQueryDto, StartFlowDto } from '@app/flows';
import { FastifyReply } from 'fastify';
import { ApiPage } from '../http/api-page.decorator';

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

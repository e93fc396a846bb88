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
import { Idempotent, Page, Permission, Principal } from '@app/core';
import {
  BuildDto,
  BuildsService,
  CreatePipelineDto,
  ListBuildsQueryDto,
  ListPipelinesQueryDto,
  PipelineDto,
  PipelinesService,
  TriggerBuildDto,
  TriggeredBuildDto,
  UpdatePipelineDto,
} from '@app/pipelines';
import { FastifyReply } from 'fastify';
import { ApiPage } from '../http/api-page.decorator';

@ApiTags('pipelines')
@Controller('pipelines')
export class PipelinesController {
  constructor(
    private readonly pipelines: PipelinesService,
    private readonly builds: BuildsService,
  ) {}

  @Post()
  @RequirePermissions(Permission.PipelinesWrite)
  @Idempotent()
  @ApiOperation({
    summary: 'Define a pipeline of a project: repository, default branch, stages of commands, artifact globs',
  })
  @ApiCreatedResponse({ type: PipelineDto })
  create(@CurrentUser() principal: Principal, @Body() dto: CreatePipelineDto): Promise<PipelineDto> {
    return this.pipelines.create(principal, dto);
  }

  @Get()
  @RequirePermissions(Permission.PipelinesRead)
  @ApiOperation({ summary: 'Pipelines of the projects you can see' })
  @ApiPage(PipelineDto)
  list(
    @CurrentUser() principal: Principal,
    @Query() query: ListPipelinesQueryDto,
  ): Promise<Page<PipelineDto>> {
    return this.pipelines.list(principal, query);
  }

  @Get(':pipelineId')
  @RequirePermissions(Permission.PipelinesRead)
  @ApiOperation({ summary: 'One pipeline' })
  @ApiOkResponse({ type: PipelineDto })
  get(@CurrentUser() principal: Principal, @Param('pipelineId') pipelineId: string): Promise<PipelineDto> {
    return this.pipelines.get(principal, pipelineId);
  }

  @Put(':pipelineId')
  @RequirePermissions(Permission.PipelinesWrite)
  @ApiOperation({ summary: 'Change a pipeline (builds already queued keep what they were triggered with)' })
  @ApiOkResponse({ type: PipelineDto })
  update(
    @CurrentUser() principal: Principal,
    @Param('pipelineId') pipelineId: string,
    @Body() dto: UpdatePipelineDto,
  ): Promise<PipelineDto> {
    return this.pipelines.update(principal, pipelineId, dto);
  }

  @Delete(':pipelineId')
  @RequirePermissions(Permission.PipelinesWrite)
  @HttpCode(204)
  @ApiOperation({
    summary: 'Delete a pipeline with its builds, logs and artifacts (409 while a build is queued or running)',
  })
  @ApiNoContentResponse()
  async remove(@CurrentUser() principal: Principal, @Param('pipelineId') pipelineId: string): Promise<void> {
    await this.pipelines.remove(principal, pipelineId);
  }

  @Post(':pipelineId/trigger')
  @RequirePermissions(Permission.BuildsWrite)
  @Idempotent()
  @HttpCode(202)
  @ApiOperation({ summary: 'Trigger a build (queued; a worker checks the code out and runs the stages)' })
  @ApiAcceptedResponse({
    type: TriggeredBuildDto,
    headers: { Location: { description: 'The build to poll', schema: { type: 'string' } } },
  })
  async trigger(
    @CurrentUser() principal: Principal,
    @Param('pipelineId') pipelineId: string,
    @Body() dto: TriggerBuildDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<TriggeredBuildDto> {
    const build = await this.builds.trigger(principal, pipelineId, dto);
    reply.header('Location', `/v2/builds/${build.buildId}`);
    return build;
  }

  @Get(':pipelineId/builds')
  @RequirePermissions(Permission.BuildsRead)
  @ApiOperation({ summary: 'Builds of a pipeline, newest first' })
  @ApiPage(BuildDto)
  listBuilds(
    @CurrentUser() principal: Principal,
    @Param('pipelineId') pipelineId: string,
    @Query() query: ListBuildsQueryDto,
  ): Promise<Page<BuildDto>> {
    return this.builds.list(principal, pipelineId, query);
  }
}

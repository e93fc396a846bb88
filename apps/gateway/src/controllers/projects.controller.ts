import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentUser, RequirePermissions } from '@app/auth';
import { Idempotent, Page, Permission, Principal } from '@app/core';
import {
  AddMemberDto,
  CreateProjectDto,
  ListProjectsQueryDto,
  ProjectDto,
  ProjectMemberDto,
  ProjectsService,
  UpdateProjectDto,
} from '@app/projects';
import { PipelinesService } from '@app/pipelines';
import { ApiPage } from '../http/api-page.decorator';

@ApiTags('projects')
@Controller('projects')
export class ProjectsController {
  constructor(
    private readonly projects: ProjectsService,
    private readonly pipelines: PipelinesService,
  ) {}

  @Post()
  @RequirePermissions(Permission.ProjectsWrite)
  @Idempotent()
  @ApiOperation({ summary: 'Create a project with its owner and initial members' })
  @ApiCreatedResponse({ type: ProjectDto })
  create(@CurrentUser() principal: Principal, @Body() dto: CreateProjectDto): Promise<ProjectDto> {
    return this.projects.create(principal, dto);
  }

  @Get()
  @RequirePermissions(Permission.ProjectsRead)
  @ApiOperation({ summary: 'Projects you can see (member, internal or public; all for administrators)' })
  @ApiPage(ProjectDto)
  list(@CurrentUser() principal: Principal, @Query() query: ListProjectsQueryDto): Promise<Page<ProjectDto>> {
    return this.projects.list(principal, query);
  }

  @Get(':projectId')
  @RequirePermissions(Permission.ProjectsRead)
  @ApiOperation({ summary: 'One project with members and stats' })
  @ApiOkResponse({ type: ProjectDto })
  get(@CurrentUser() principal: Principal, @Param('projectId') projectId: string): Promise<ProjectDto> {
    return this.projects.get(principal, projectId);
  }

  @Put(':projectId')
  @RequirePermissions(Permission.ProjectsWrite)
  @ApiOperation({
    summary: 'Update name, description, visibility, owner or repository (the key never changes)',
    description:
      "`repository` replaces the project's repository (`null` removes it). Its `credentials` are write-only: " +
      'stored encrypted, never returned (`hasCredentials` says whether there are some), kept when left out ' +
      'while the URL stays on the same host. Pipelines created without `repositoryUrl` follow the repository.',
  })
  @ApiOkResponse({ type: ProjectDto })
  update(
    @CurrentUser() principal: Principal,
    @Param('projectId') projectId: string,
    @Body() dto: UpdateProjectDto,
  ): Promise<ProjectDto> {
    return this.projects.update(principal, projectId, dto, (pipelineId, tx) =>
      this.pipelines.projectOf(pipelineId, tx),
    );
  }

  @Delete(':projectId')
  @RequirePermissions(Permission.ProjectsWrite)
  @HttpCode(204)
  @ApiOperation({ summary: 'Archive the project: it stays readable and becomes read-only' })
  @ApiNoContentResponse()
  async archive(@CurrentUser() principal: Principal, @Param('projectId') projectId: string): Promise<void> {
    await this.projects.archive(principal, projectId);
  }

  @Get(':projectId/members')
  @RequirePermissions(Permission.ProjectsRead)
  @ApiOperation({ summary: 'Members of the project, owner first' })
  @ApiOkResponse({ type: [ProjectMemberDto] })
  members(
    @CurrentUser() principal: Principal,
    @Param('projectId') projectId: string,
  ): Promise<ProjectMemberDto[]> {
    return this.projects.members(principal, projectId);
  }

  @Post(':projectId/members')
  @RequirePermissions(Permission.ProjectsWrite)
  @ApiOperation({ summary: 'Add a member' })
  @ApiCreatedResponse({ type: ProjectMemberDto })
  addMember(
    @CurrentUser() principal: Principal,
    @Param('projectId') projectId: string,
    @Body() dto: AddMemberDto,
  ): Promise<ProjectMemberDto> {
    return this.projects.addMember(principal, projectId, dto);
  }

  @Delete(':projectId/members/:userId')
  @RequirePermissions(Permission.ProjectsWrite)
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove a member (not the owner)' })
  @ApiNoContentResponse()
  async removeMember(
    @CurrentUser() principal: Principal,
    @Param('projectId') projectId: string,
    @Param('userId') userId: string,
  ): Promise<void> {
    await this.projects.removeMember(principal, projectId, userId);
  }
}

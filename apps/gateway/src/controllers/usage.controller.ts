import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AgentsService, ProjectUsageDto, UsageQueryDto } from '@app/agents';
import { CurrentUser, RequirePermissions } from '@app/auth';
import { Permission, Principal } from '@app/core';

@ApiTags('projects')
@Controller('projects/:projectId/usage')
export class UsageController {
  constructor(private readonly agents: AgentsService) {}

  @Get()
  @RequirePermissions(Permission.AgentsRead)
  @ApiOperation({
    summary: "What the project's agent activations used: tokens and USD by UTC day, agent type and model",
  })
  @ApiOkResponse({ type: ProjectUsageDto })
  get(
    @CurrentUser() principal: Principal,
    @Param('projectId') projectId: string,
    @Query() query: UsageQueryDto,
  ): Promise<ProjectUsageDto> {
    return this.agents.usage(principal, projectId, query);
  }
}

import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentUser, RequirePermissions } from '@app/auth';
import { Idempotent, Page, Permission, Principal } from '@app/core';
import {
  CreateTestSuiteDto,
  ListTestRunsQueryDto,
  ListTestSuitesQueryDto,
  RunTestSuiteDto,
  TestReportDto,
  TestRunAcceptedDto,
  TestRunDto,
  TestsService,
  TestSuiteDto,
} from '@app/test-runs';
import { FastifyReply } from 'fastify';
import { ApiPage } from '../http/api-page.decorator';

@ApiTags('tests')
@Controller('tests')
export class TestsController {
  constructor(private readonly tests: TestsService) {}

  @Post('suites')
  @RequirePermissions(Permission.TestsWrite)
  @Idempotent()
  @ApiOperation({
    summary:
      'Define a test suite: a command run in a repository checkout or a working directory, writing a JUnit report',
  })
  @ApiCreatedResponse({ type: TestSuiteDto })
  createSuite(@CurrentUser() principal: Principal, @Body() dto: CreateTestSuiteDto): Promise<TestSuiteDto> {
    return this.tests.createSuite(principal, dto);
  }

  @Get('suites')
  @RequirePermissions(Permission.TestsRead)
  @ApiOperation({ summary: 'Test suites of the projects you can see' })
  @ApiPage(TestSuiteDto)
  listSuites(
    @CurrentUser() principal: Principal,
    @Query() query: ListTestSuitesQueryDto,
  ): Promise<Page<TestSuiteDto>> {
    return this.tests.listSuites(principal, query);
  }

  @Get('suites/:suiteId')
  @RequirePermissions(Permission.TestsRead)
  @ApiOperation({ summary: 'One test suite' })
  @ApiOkResponse({ type: TestSuiteDto })
  getSuite(@CurrentUser() principal: Principal, @Param('suiteId') suiteId: string): Promise<TestSuiteDto> {
    return this.tests.getSuite(principal, suiteId);
  }

  @Post('suites/:suiteId/run')
  @RequirePermissions(Permission.TestsWrite)
  @Idempotent()
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Run a test suite (browsers, parallel and environment reach the command as TEST_BROWSERS, TEST_PARALLEL, TEST_ENV)',
  })
  @ApiAcceptedResponse({
    type: TestRunAcceptedDto,
    headers: { Location: { description: 'The run to poll', schema: { type: 'string' } } },
  })
  async run(
    @CurrentUser() principal: Principal,
    @Param('suiteId') suiteId: string,
    @Body() dto: RunTestSuiteDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<TestRunAcceptedDto> {
    const run = await this.tests.run(principal, suiteId, dto);
    reply.header('Location', `/v2/tests/runs/${run.runId}`);
    return run;
  }

  @Get('suites/:suiteId/runs')
  @RequirePermissions(Permission.TestsRead)
  @ApiOperation({ summary: 'Runs of a test suite, newest first' })
  @ApiPage(TestRunDto)
  listRuns(
    @CurrentUser() principal: Principal,
    @Param('suiteId') suiteId: string,
    @Query() query: ListTestRunsQueryDto,
  ): Promise<Page<TestRunDto>> {
    return this.tests.listRuns(principal, suiteId, query);
  }

  @Get('runs/:runId')
  @RequirePermissions(Permission.TestsRead)
  @ApiOperation({ summary: 'A test run: status, totals, exit code, error and the end of its output' })
  @ApiOkResponse({ type: TestRunDto })
  getRun(@CurrentUser() principal: Principal, @Param('runId') runId: string): Promise<TestRunDto> {
    return this.tests.getRun(principal, runId);
  }

  @Get('runs/:runId/report')
  @RequirePermissions(Permission.TestsRead)
  @ApiOperation({
    summary:
      'The report of a finished run: totals (passed, failed, skipped, errors, duration) and every case (409 before it ends)',
  })
  @ApiOkResponse({ type: TestReportDto })
  report(@CurrentUser() principal: Principal, @Param('runId') runId: string): Promise<TestReportDto> {
    return this.tests.report(principal, runId);
  }
}

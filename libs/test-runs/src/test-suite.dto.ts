import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBranchName, IsGitUrl, PageQueryDto } from '@app/core';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { TEST_RUN_STATUSES, TestRunStatus } from './test-run.entity';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class CreateTestSuiteDto {
  @ApiProperty({ example: 'prj_ecom2026031401' })
  @IsString()
  @MaxLength(40)
  projectId: string;

  @ApiProperty({ example: 'e2e-checkout' })
  @Transform(trim)
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(5000)
  description?: string;

  /** Checked out fresh for every run; give this or workingDirectory */
  @ApiPropertyOptional({ example: 'https://git.example.com/acme/ecom.git' })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  @IsGitUrl()
  repositoryUrl?: string;

  /** With repositoryUrl; default: the repository's default branch */
  @ApiPropertyOptional({ example: 'main' })
  @IsOptional()
  @IsString()
  @IsBranchName()
  branch?: string;

  /** An absolute directory on the workers, inside TESTS_WORKDIR_ROOTS; give this or repositoryUrl */
  @ApiPropertyOptional({ example: '/srv/tests/ecom' })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  workingDirectory?: string;

  /** Run by /bin/sh -c with TEST_BROWSERS, TEST_PARALLEL and TEST_ENV set */
  @ApiProperty({ example: 'npx playwright test --reporter=junit' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(10000)
  command: string;

  /** The JUnit XML report the command writes, relative to the checkout or working directory */
  @ApiProperty({ example: 'results/junit.xml' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(1024)
  reportPath: string;

  /** The command (and everything it started) is killed after this long; default TESTS_TIMEOUT_SECONDS */
  @ApiPropertyOptional({ type: 'integer', example: 1800, minimum: 1, maximum: 86400 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(86400)
  timeoutSeconds?: number;
}

export class ListTestSuitesQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ example: 'prj_ecom2026031401' })
  @IsOptional()
  @IsString()
  @MaxLength(40)
  projectId?: string;
}

export const BROWSER_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;

export class RunTestSuiteDto {
  /** Given to the command as TEST_ENV */
  @ApiPropertyOptional({ example: 'staging' })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, {
    message: 'environment must be 1-64 letters, digits, "_", "." or "-"',
  })
  environment?: string;

  /** Given to the command as TEST_BROWSERS (comma-separated) */
  @ApiPropertyOptional({ type: [String], default: ['chromium'], example: ['chromium', 'firefox'] })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(10)
  @ArrayUnique()
  @IsString({ each: true })
  @Matches(BROWSER_NAME, { each: true, message: 'browsers must be names such as chromium, firefox, webkit' })
  browsers?: string[];

  /** Given to the command as TEST_PARALLEL */
  @ApiPropertyOptional({ type: 'integer', default: 4, minimum: 1, maximum: 64 })
  @IsOptional()
  @IsInt() // a JSON number: no conversion, or `true` would become 1
  @Min(1)
  @Max(64)
  parallel?: number;
}

export class ListTestRunsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: TEST_RUN_STATUSES })
  @IsOptional()
  @IsIn(TEST_RUN_STATUSES, { message: `status must be one of ${TEST_RUN_STATUSES.join(', ')}` })
  status?: TestRunStatus;
}

export class TestSuiteDto {
  @ApiProperty({ example: 'suite_0k2j4h5g6f7d8s9a' }) id: string;
  @ApiProperty({ example: 'prj_ecom2026031401' }) projectId: string;
  @ApiProperty({ example: 'e2e-checkout' }) name: string;
  @ApiProperty({ nullable: true, type: String }) description: string | null;
  /** A password or token in the URL is shown as *** */
  @ApiProperty({ nullable: true, type: String }) repositoryUrl: string | null;
  @ApiProperty({ nullable: true, type: String }) branch: string | null;
  @ApiProperty({ nullable: true, type: String }) workingDirectory: string | null;
  @ApiProperty() command: string;
  @ApiProperty({ example: 'results/junit.xml' }) reportPath: string;
  @ApiProperty({ example: 1800 }) timeoutSeconds: number;
  @ApiProperty({ nullable: true, type: String }) createdBy: string | null;
  @ApiProperty() createdAt: string;
  @ApiProperty() updatedAt: string;
}

export class TestRunAcceptedDto {
  @ApiProperty({ example: 'run_0k2j4h5g6f7d8s9a' }) runId: string;
  @ApiProperty({ example: 'suite_0k2j4h5g6f7d8s9a' }) suiteId: string;
  @ApiProperty({ enum: TEST_RUN_STATUSES, example: 'queued' }) status: TestRunStatus;
  @ApiProperty({ nullable: true, type: String, example: 'staging' }) environment: string | null;
  @ApiProperty({ type: [String], example: ['chromium'] }) browsers: string[];
  @ApiProperty({ example: 4 }) parallel: number;
  @ApiProperty({ example: 'usr_abc123def456' }) triggeredBy: string;
  @ApiProperty({ example: '2026-03-14T12:05:01Z' }) triggeredAt: string;
  /** Where the report will be */
  @ApiProperty({ example: '/v2/tests/runs/run_0k2j4h5g6f7d8s9a/report' }) reportUrl: string;
}

export class TestTotalsDto {
  @ApiProperty({ example: 120 }) total: number;
  @ApiProperty({ example: 115 }) passed: number;
  @ApiProperty({ example: 3 }) failed: number;
  @ApiProperty({ example: 1 }) skipped: number;
  @ApiProperty({ example: 1 }) errors: number;
  /** Seconds, as the report gives them */
  @ApiProperty({ example: 84.5 }) duration: number;
}

export class TestRunDto {
  @ApiProperty({ example: 'run_0k2j4h5g6f7d8s9a' }) runId: string;
  @ApiProperty({ example: 'suite_0k2j4h5g6f7d8s9a' }) suiteId: string;
  @ApiProperty({ example: 'prj_ecom2026031401' }) projectId: string;
  /** passed: every case passed or was skipped; failed: a case failed or errored; error: no usable report, a timeout, or the command failed on its own */
  @ApiProperty({ enum: TEST_RUN_STATUSES }) status: TestRunStatus;
  @ApiProperty({ nullable: true, type: String }) environment: string | null;
  @ApiProperty({ type: [String] }) browsers: string[];
  @ApiProperty() parallel: number;
  @ApiProperty({ nullable: true, type: String }) triggeredBy: string | null;
  @ApiProperty() triggeredAt: string;
  @ApiProperty({ nullable: true, type: String }) startedAt: string | null;
  @ApiProperty({ nullable: true, type: String }) finishedAt: string | null;
  /** Seconds from start to end of the run */
  @ApiProperty({ nullable: true, type: Number }) duration: number | null;
  @ApiProperty({ nullable: true, type: Number }) exitCode: number | null;
  /** The commit tested (repository suites) */
  @ApiProperty({ nullable: true, type: String }) commit: string | null;
  @ApiProperty({ nullable: true, type: TestTotalsDto }) summary: TestTotalsDto | null;
  @ApiProperty({ nullable: true, type: String }) error: string | null;
  /** The end of the command's output */
  @ApiProperty({ nullable: true, type: String }) logTail: string | null;
  @ApiProperty() reportUrl: string;
}

export class TestCaseDto {
  @ApiProperty({ example: 'checkout' }) suite: string;
  @ApiProperty({ nullable: true, type: String, example: 'cart.Total' }) classname: string | null;
  @ApiProperty({ example: 'adds tax' }) name: string;
  /** Seconds */
  @ApiProperty({ example: 0.42 }) time: number;
  @ApiProperty({ enum: ['passed', 'failed', 'skipped', 'error'] }) status: string;
  @ApiProperty({ nullable: true, type: String }) message: string | null;
  /** The stack trace or failure output */
  @ApiProperty({ nullable: true, type: String }) details: string | null;
}

export class TestReportDto {
  @ApiProperty() runId: string;
  @ApiProperty() suiteId: string;
  @ApiProperty({ enum: TEST_RUN_STATUSES }) status: TestRunStatus;
  @ApiProperty({ nullable: true, type: String }) environment: string | null;
  @ApiProperty({ type: [String] }) browsers: string[];
  @ApiProperty({ nullable: true, type: TestTotalsDto }) summary: TestTotalsDto | null;
  @ApiProperty({ type: [TestCaseDto] }) cases: TestCaseDto[];
  @ApiProperty({ nullable: true, type: String }) error: string | null;
  @ApiProperty({ nullable: true, type: String }) logTail: string | null;
  @ApiProperty({ nullable: true, type: String }) finishedAt: string | null;
}

export const reportPathOf = (runId: string) => `/v2/tests/runs/${runId}/report`;

import { ApiExtraModels, ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { iso, PageQueryDto } from '@app/core';
import { Transform } from 'class-transformer';
import { IsNotEmpty, IsObject, IsOptional, IsString, MaxLength } from 'class-validator';
import { Colour, ENVIRONMENTS, Environment } from './deployment-plan';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

/** `{type: "script", command}`: run by a worker with `sh -c` for every step; exit code 0 succeeds. */
export class ScriptTargetDto {
  @ApiProperty({ enum: ['script'] }) type: 'script';
  @ApiProperty({ example: './deploy.sh "$DEPLOY_ENV" "$DEPLOY_VERSION"', maxLength: 4000 }) command: string;
}

/** `{type: "webhook", url, secret?}`: a signed POST for every step; a 2xx answer succeeds. */
export class WebhookTargetDto {
  @ApiProperty({ enum: ['webhook'] }) type: 'webhook';
  @ApiProperty({ example: 'https://deploy.example.com/hooks/cocode' }) url: string;
  /** Signing secret; generated (whsec_...) when absent and returned once, at creation. */
  @ApiPropertyOptional({ minLength: 16, maxLength: 200 }) secret?: string;
}

const TARGET_SCHEMA = {
  oneOf: [{ $ref: getSchemaPath(ScriptTargetDto) }, { $ref: getSchemaPath(WebhookTargetDto) }],
  discriminator: { propertyName: 'type' },
};

@ApiExtraModels(ScriptTargetDto, WebhookTargetDto)
export class CreateApplicationDto {
  @ApiProperty({ example: 'prj_ecom2026031401' })
  @IsString()
  @MaxLength(40)
  projectId: string;

  @ApiProperty({ example: 'ecom-api' })
  @Transform(trim)
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  name: string;

  @ApiPropertyOptional({ example: '电商后台 API 服务' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;

  /** Checked by the target kind it names (DeployTargets). */
  @ApiProperty(TARGET_SCHEMA)
  @IsObject()
  target: Record<string, unknown>;
}

export class ListApplicationsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ example: 'prj_ecom2026031401' })
  @IsOptional()
  @IsString()
  @MaxLength(40)
  projectId?: string;
}

/** What runs in one environment. */
export class ApplicationEnvironmentDto {
  @ApiProperty({ enum: ENVIRONMENTS }) environment: Environment;
  @ApiProperty({ nullable: true, type: String, example: 'v2.3.1' }) liveVersion: string | null;
  /** Blue-green: the colour that serves traffic. */
  @ApiProperty({ nullable: true, enum: ['blue', 'green'] }) liveColour: Colour | null;
  @ApiProperty({ nullable: true, type: String }) liveDeploymentId: string | null;
  @ApiProperty() updatedAt: string;
}

export class ApplicationDto {
  @ApiProperty({ example: 'app_k3j9x0a1b2c3d4e5' }) id: string;
  @ApiProperty({ example: 'prj_ecom2026031401' }) projectId: string;
  @ApiProperty({ example: 'ecom-api' }) name: string;
  @ApiProperty({ nullable: true, type: String }) description: string | null;
  /** The target without its secret. */
  @ApiProperty(TARGET_SCHEMA) target: Record<string, unknown>;
  @ApiProperty({ type: [ApplicationEnvironmentDto] }) environments: ApplicationEnvironmentDto[];
  @ApiProperty({ nullable: true, type: String }) createdBy: string | null;
  @ApiProperty() createdAt: string;
  @ApiProperty() updatedAt: string;
}

/** The creation answer: a webhook target's signing secret appears here, and never again. */
export class CreatedApplicationDto extends ApplicationDto {}

export interface ApplicationRow {
  id: string;
  project_id: string;
  name: string;
  description: string | null;
  target_type: string;
  target_config: Record<string, unknown>;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface ApplicationEnvironmentRow {
  application_id: string;
  environment: Environment;
  live_version: string | null;
  live_colour: Colour | null;
  live_deployment_id: string | null;
  updated_at: Date;
}

export function mapApplication(
  row: ApplicationRow,
  environments: ApplicationEnvironmentRow[],
): ApplicationDto {
  return {
    id: row.id,
    projectId: row.project_id,
    name: row.name,
    description: row.description,
    target: { type: row.target_type, ...row.target_config },
    environments: environments
      .filter((e) => e.application_id === row.id)
      .sort((a, b) => ENVIRONMENTS.indexOf(a.environment) - ENVIRONMENTS.indexOf(b.environment))
      .map((e) => ({
        environment: e.environment,
        liveVersion: e.live_version,
        liveColour: e.live_colour,
        liveDeploymentId: e.live_deployment_id,
        updatedAt: iso(e.updated_at),
      })),
    createdBy: row.created_by,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

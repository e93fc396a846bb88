import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { EVENT_TYPES, iso, PageQueryDto } from '@app/core';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsOptional,
  IsString,
  IsUrl,
  Length,
  MaxLength,
} from 'class-validator';
import { WebhookAttemptEntity } from './webhook-attempt.entity';
import { DeliveryStatus, WebhookDeliveryEntity } from './webhook-delivery.entity';
import { WebhookEntity } from './webhook.entity';

const URL_RULE = {
  protocols: ['http', 'https'],
  require_protocol: true,
  require_tld: false,
  allow_underscores: true,
};
const URL_MESSAGE = { message: 'url must be an absolute http(s) URL' };
const EVENTS_MESSAGE = { each: true, message: `events must be among ${EVENT_TYPES.join(', ')}` };
const toBool = ({ value }: { value: unknown }) =>
  value === 'true' ? true : value === 'false' ? false : value;

export class CreateWebhookDto {
  @ApiProperty({ example: 'https://hooks.example.com/cocode' })
  @IsString()
  @MaxLength(2048)
  @IsUrl(URL_RULE, URL_MESSAGE)
  url: string;

  @ApiProperty({ enum: EVENT_TYPES, isArray: true, example: ['project.created', 'task.updated'] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(EVENT_TYPES.length)
  @ArrayUnique()
  @IsIn(EVENT_TYPES, EVENTS_MESSAGE)
  events: string[];

  /** Signing secret; generated (whsec_...) when absent and returned once. */
  @ApiPropertyOptional({ example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' })
  @IsOptional()
  @IsString()
  @Length(16, 200)
  secret?: string;

  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  active?: boolean;

  /** Only events of this project reach the webhook (managed by its members); absent: platform-wide (admins). */
  @ApiPropertyOptional({ example: 'prj_ecom2026031401' })
  @IsOptional()
  @IsString()
  @MaxLength(40)
  projectId?: string;

  /** null clears it */
  @ApiPropertyOptional({ nullable: true, type: String })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string | null;
}

export class UpdateWebhookDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  @IsUrl(URL_RULE, URL_MESSAGE)
  url?: string;

  @ApiPropertyOptional({ enum: EVENT_TYPES, isArray: true })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayUnique()
  @IsIn(EVENT_TYPES, EVENTS_MESSAGE)
  events?: string[];

  /** A new signing secret (never returned) */
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Length(16, 200)
  secret?: string;

  /** true re-enables a webhook the platform disabled */
  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  active?: boolean;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;
}

export class ListWebhooksQueryDto extends PageQueryDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(40) projectId?: string;
  @ApiPropertyOptional({ enum: EVENT_TYPES })
  @IsOptional()
  @IsIn(EVENT_TYPES, { message: 'unknown event' })
  event?: string;
  @ApiPropertyOptional() @IsOptional() @Transform(toBool) @IsBoolean() active?: boolean;
}

export class ListDeliveriesQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: ['pending', 'retrying', 'succeeded', 'failed'] })
  @IsOptional()
  @IsIn(['pending', 'retrying', 'succeeded', 'failed'])
  status?: DeliveryStatus;
}

export class WebhookDto {
  @ApiProperty({ example: 'whk_0k2j4h5g6f7d8s9a' }) id: string;
  @ApiProperty() url: string;
  @ApiProperty({ enum: EVENT_TYPES, isArray: true }) events: string[];
  @ApiProperty() active: boolean;
  @ApiProperty({ nullable: true, type: String }) projectId: string | null;
  @ApiProperty({ nullable: true, type: String }) description: string | null;
  @ApiProperty({ nullable: true, type: String, example: 'the receiver answered 410 Gone' }) disabledReason:
    string | null;
  @ApiProperty({ nullable: true, type: String }) disabledAt: string | null;
  @ApiProperty({ nullable: true, type: String }) failingSince: string | null;
  @ApiProperty({ nullable: true, type: String }) lastSuccessAt: string | null;
  @ApiProperty() createdAt: string;
  @ApiProperty() updatedAt: string;
}

export class CreatedWebhookDto extends WebhookDto {
  /** Shown once. */
  @ApiProperty({ example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }) secret: string;
}

export class WebhookAttemptDto {
  @ApiProperty() attempt: number;
  @ApiProperty({ type: Object }) requestHeaders: Record<string, string>;
  @ApiProperty({ nullable: true, type: Number }) responseStatus: number | null;
  @ApiProperty() durationMs: number;
  @ApiProperty({ nullable: true, type: String }) responseExcerpt: string | null;
  @ApiProperty({ nullable: true, type: String }) error: string | null;
  @ApiProperty() createdAt: string;
}

export class WebhookDeliveryDto {
  @ApiProperty({ example: 'dlv_0k2j4h5g6f7d8s9a' }) id: string;
  @ApiProperty() webhookId: string;
  @ApiProperty({ description: 'Also the webhook-id header' }) eventId: string;
  @ApiProperty({ example: 'task.updated' }) eventType: string;
  @ApiProperty({ enum: ['pending', 'retrying', 'succeeded', 'failed'] }) status: DeliveryStatus;
  @ApiProperty() attempts: number;
  @ApiProperty({ nullable: true, type: Number }) lastStatusCode: number | null;
  @ApiProperty({ nullable: true, type: String }) nextAttemptAt: string | null;
  @ApiProperty() createdAt: string;
  @ApiProperty() updatedAt: string;
  @ApiPropertyOptional({ type: [WebhookAttemptDto], description: 'In the single-delivery view' })
  attemptLog?: WebhookAttemptDto[];
  @ApiPropertyOptional({ type: Object, description: 'The JSON body sent, in the single-delivery view' })
  payload?: unknown;
}

export function mapWebhook(w: WebhookEntity): WebhookDto {
  return {
    id: w.id,
    url: w.url,
    events: w.events,
    active: w.active,
    projectId: w.projectId,
    description: w.description,
    disabledReason: w.disabledReason,
    disabledAt: iso(w.disabledAt),
    failingSince: iso(w.failingSince),
    lastSuccessAt: iso(w.lastSuccessAt),
    createdAt: iso(w.createdAt),
    updatedAt: iso(w.updatedAt),
  };
}

export function mapAttempt(a: WebhookAttemptEntity): WebhookAttemptDto {
  return {
    attempt: a.attempt,
    requestHeaders: a.requestHeaders,
    responseStatus: a.responseStatus,
    durationMs: a.durationMs,
    responseExcerpt: a.responseExcerpt,
    error: a.error,
    createdAt: iso(a.createdAt),
  };
}

export function mapDelivery(d: WebhookDeliveryEntity, attempts?: WebhookAttemptEntity[]): WebhookDeliveryDto {
  return {
    id: d.id,
    webhookId: d.webhookId,
    eventId: d.eventId,
    eventType: d.eventType,
    status: d.status,
    attempts: d.attempts,
    lastStatusCode: d.lastStatusCode,
    nextAttemptAt: iso(d.nextAttemptAt),
    createdAt: iso(d.createdAt),
    updatedAt: iso(d.updatedAt),
    ...(attempts ? { attemptLog: attempts.map(mapAttempt), payload: JSON.parse(d.body) } : {}),
  };
}

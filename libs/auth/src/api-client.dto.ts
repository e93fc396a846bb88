import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { iso, PageQueryDto, Scope } from '@app/core';
import { ArrayUnique, IsArray, IsEnum, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { ApiClientEntity } from './api-client.entity';

export class CreateApiClientDto {
  @ApiProperty({ example: 'ci-bot' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  name: string;

  @ApiPropertyOptional({
    enum: Scope,
    isArray: true,
    description: "Defaults to everything the owner's role allows",
  })
  @IsOptional()
  @IsArray()
  @ArrayUnique()
  @IsEnum(Scope, { each: true, message: 'scopes must contain only read, write, admin' })
  scopes?: Scope[];
}

export class ListApiClientsQueryDto extends PageQueryDto {
  /** Admin only: another user's clients */
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(40)
  ownerId?: string;
}

export class ApiClientDto {
  @ApiProperty({ example: 'cli_0k2j4h5g6f7d8s9a' }) id: string;
  @ApiProperty({ example: 'cli_0k2j4h5g6f7d8s9a' }) client_id: string;
  @ApiProperty({ example: 'ci-bot' }) name: string;
  @ApiProperty() ownerId: string;
  @ApiProperty({ enum: Scope, isArray: true }) scopes: Scope[];
  @ApiProperty() createdAt: string;
  @ApiProperty({ nullable: true, type: String }) lastUsedAt: string | null;
}

/** Returned once, at creation and at rotation: the secret is never shown again. */
export class ApiClientWithSecretDto extends ApiClientDto {
  @ApiProperty({ example: 'kq0...' }) client_secret: string;
}

export function mapApiClient(c: ApiClientEntity): ApiClientDto {
  return {
    id: c.id,
    client_id: c.id,
    name: c.name,
    ownerId: c.ownerId,
    scopes: c.scopes.split(' ').filter(Boolean) as Scope[],
    createdAt: iso(c.createdAt),
    lastUsedAt: iso(c.lastUsedAt),
  };
}

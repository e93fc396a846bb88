import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Role, Scope } from '@app/core';
import { IsIn, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';

export const GRANT_TYPES = ['client_credentials', 'password'] as const;

/** OAuth 2.0 token request (JSON or application/x-www-form-urlencoded). */
export class TokenRequestDto {
  @ApiProperty({ enum: GRANT_TYPES, example: 'client_credentials' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  grant_type: string;

  @ApiProperty({ example: 'your_client_id' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  client_id: string;

  @ApiProperty({ example: 'your_client_secret' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  client_secret: string;

  @ApiPropertyOptional({ description: 'password grant only' })
  @IsOptional()
  @IsString()
  @MaxLength(254)
  username?: string;

  @ApiPropertyOptional({ description: 'password grant only' })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  password?: string;

  @ApiPropertyOptional({ description: 'Space-separated subset of read, write, admin', example: 'read write' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  scope?: string;
}

export class RefreshRequestDto {
  @ApiProperty({ example: 'dGhpcyBpcyBhIHJlZnJlc2ggdG9rZW4...' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  refresh_token: string;
}

export class RevokeRequestDto {
  @ApiProperty({ description: 'An access token or a refresh token' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(4096)
  token: string;

  @ApiPropertyOptional({ enum: ['access_token', 'refresh_token'] })
  @IsOptional()
  @IsIn(['access_token', 'refresh_token'])
  token_type_hint?: string;
}

export class TokenResponseDto {
  @ApiProperty({ example: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...' }) access_token: string;
  @ApiProperty({ example: 'Bearer' }) token_type: 'Bearer';
  @ApiProperty({ example: 3600 }) expires_in: number;
  @ApiProperty({ example: 'dGhpcyBpcyBhIHJlZnJlc2ggdG9rZW4...' }) refresh_token: string;
  @ApiProperty({ example: 'read write admin' }) scope: string;
  @ApiProperty({ example: '2026-03-14T10:30:00Z' }) issued_at: string;
}

export class MeDto {
  @ApiProperty({ example: 'usr_abc123def456' }) userId: string;
  @ApiProperty({ example: 'zhangsan' }) username: string;
  @ApiProperty({ enum: Role }) role: Role;
  @ApiProperty({ enum: Scope, isArray: true }) scopes: Scope[];
  @ApiProperty({ example: ['users:read'] }) permissions: string[];
  @ApiProperty({ example: 'free' }) tier: string;
  @ApiProperty({ nullable: true, type: String }) clientId: string | null;
  @ApiProperty() tokenId: string;
  @ApiProperty({ example: '2026-03-14T11:30:00Z' }) expiresAt: string;
}

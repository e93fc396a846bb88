import { Body, Controller, Get, HttpCode, Ip, Post } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  Authenticated,
  AuthService,
  CurrentUser,
  MeDto,
  Public,
  RefreshRequestDto,
  RevokeRequestDto,
  TokenRequestDto,
  TokenResponseDto,
} from '@app/auth';
import { Principal } from '@app/core';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('token')
  @Public()
  @HttpCode(200)
  @ApiOperation({ summary: 'Exchange client credentials (or a username and password) for an access token' })
  @ApiConsumes('application/json', 'application/x-www-form-urlencoded')
  @ApiBody({ type: TokenRequestDto })
  @ApiOkResponse({ type: TokenResponseDto })
  token(@Body() body: unknown, @Ip() ip: string): Promise<TokenResponseDto> {
    return this.auth.token(body, ip);
  }

  @Post('refresh')
  @Public()
  @HttpCode(200)
  @ApiOperation({ summary: 'Rotate a refresh token into a new token pair' })
  @ApiConsumes('application/json', 'application/x-www-form-urlencoded')
  @ApiOkResponse({ type: TokenResponseDto })
  refresh(@Body() dto: RefreshRequestDto): Promise<TokenResponseDto> {
    return this.auth.refresh(dto.refresh_token);
  }

  @Post('revoke')
  @Public()
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke an access or refresh token (RFC 7009: always 200)' })
  @ApiConsumes('application/json', 'application/x-www-form-urlencoded')
  async revoke(@Body() dto: RevokeRequestDto): Promise<Record<string, never>> {
    await this.auth.revoke(dto);
    return {};
  }

  @Get('me')
  @Authenticated()
  @ApiOperation({ summary: 'The caller: user, role, scopes and effective permissions' })
  @ApiOkResponse({ type: MeDto })
  me(@CurrentUser() principal: Principal): MeDto {
    return this.auth.me(principal);
  }
}

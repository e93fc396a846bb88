import { Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '@app/core';
import { UsersModule } from '@app/users';
import { ApiClientEntity } from './api-client.entity';
import { ApiClientsRepository } from './api-clients.repository';
import { ApiClientsService } from './api-clients.service';
import { AccessGuard } from './auth.guard';
import { AuthService } from './auth.service';
import { BootstrapRepository } from './bootstrap.repository';
import { BootstrapService } from './bootstrap.service';
import { JwtKeys } from './jwt-keys';
import { JwtStrategy } from './jwt.strategy';
import { LoginThrottle } from './login-throttle';
import { PrincipalCache } from './principal-cache';
import { RefreshTokenEntity } from './refresh-token.entity';
import { RefreshTokensRepository } from './refresh-tokens.repository';

@Module({
  imports: [PassportModule, TypeOrmModule.forFeature([ApiClientEntity, RefreshTokenEntity]), UsersModule],
  providers: [
    {
      provide: JwtKeys,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => JwtKeys.fromConfig(config.jwt),
    },
    AuthService,
    ApiClientsService,
    ApiClientsRepository,
    RefreshTokensRepository,
    BootstrapService,
    BootstrapRepository,
    JwtStrategy,
    LoginThrottle,
    PrincipalCache,
    AccessGuard,
  ],
  exports: [AuthService, ApiClientsService, BootstrapService, AccessGuard, PrincipalCache, UsersModule],
})
export class AuthModule {}

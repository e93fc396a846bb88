import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { Authenticated, CurrentUser, Public, RequirePermissions } from '@app/auth';
import { Idempotent, Page, Permission, Principal } from '@app/core';
import {
  ChangePasswordDto,
  CreatedUserDto,
  CreateUserDto,
  DeleteUserQueryDto,
  ListUsersQueryDto,
  UpdateUserDto,
  UserDto,
  UsersService,
  VerifyEmailDto,
} from '@app/users';
import { ApiPage } from '../http/api-page.decorator';

@ApiTags('users')
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get()
  @RequirePermissions(Permission.UsersRead)
  @ApiOperation({ summary: 'List users with filters, search and sorting' })
  @ApiPage(UserDto)
  list(@Query() query: ListUsersQueryDto): Promise<Page<UserDto>> {
    return this.users.list(query);
  }

  @Post()
  @RequirePermissions(Permission.UsersAdmin)
  @Idempotent()
  @ApiOperation({ summary: 'Create a user (pending e-mail verification)' })
  @ApiCreatedResponse({ type: CreatedUserDto })
  create(@CurrentUser() principal: Principal, @Body() dto: CreateUserDto): Promise<CreatedUserDto> {
    return this.users.create(principal, dto);
  }

  @Get('me')
  @Authenticated()
  @ApiOperation({ summary: 'Your own user record' })
  @ApiOkResponse({ type: UserDto })
  me(@CurrentUser() principal: Principal): Promise<UserDto> {
    return this.users.get(principal.userId);
  }

  @Put('me/password')
  @Authenticated()
  @HttpCode(204)
  @ApiOperation({ summary: 'Change your password; every token issued before stops working' })
  @ApiNoContentResponse()
  async changePassword(@CurrentUser() principal: Principal, @Body() dto: ChangePasswordDto): Promise<void> {
    await this.users.changePassword(principal, dto);
  }

  @Post('verify-email')
  @Public()
  @HttpCode(200)
  @ApiOperation({ summary: 'Confirm an e-mail address with the token from the verification mail' })
  @ApiOkResponse({ type: UserDto })
  verifyEmail(@Body() dto: VerifyEmailDto): Promise<UserDto> {
    return this.users.verifyEmail(dto.token);
  }

  @Get(':userId')
  @RequirePermissions(Permission.UsersRead)
  @ApiOperation({ summary: 'One user' })
  @ApiOkResponse({ type: UserDto })
  get(@Param('userId') userId: string): Promise<UserDto> {
    return this.users.get(userId);
  }

  @Put(':userId')
  @RequirePermissions(Permission.ProfileWrite)
  @ApiOperation({
    summary:
      'Update a user (yourself: fullName, department, avatar; an administrator: everything but the password)',
  })
  @ApiOkResponse({ type: UserDto })
  update(
    @CurrentUser() principal: Principal,
    @Param('userId') userId: string,
    @Body() dto: UpdateUserDto,
  ): Promise<UserDto> {
    return this.users.update(principal, userId, dto);
  }

  @Delete(':userId')
  @RequirePermissions(Permission.UsersAdmin)
  @HttpCode(204)
  @ApiOperation({
    summary: 'Delete a user: soft by default (hidden, cannot sign in), hard=true removes the row',
  })
  @ApiNoContentResponse()
  async remove(
    @CurrentUser() principal: Principal,
    @Param('userId') userId: string,
    @Query() query: DeleteUserQueryDto,
  ): Promise<void> {
    await this.users.remove(principal, userId, query.hard === 'true');
  }

  @Post(':userId/resend-verification')
  @RequirePermissions(Permission.UsersAdmin)
  @HttpCode(200)
  @ApiOperation({ summary: 'Send a new verification mail' })
  resend(
    @CurrentUser() principal: Principal,
    @Param('userId') userId: string,
  ): Promise<{ verificationEmailSent: boolean }> {
    return this.users.resendVerification(principal, userId);
  }
}

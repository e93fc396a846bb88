import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { iso, PageQueryDto, Role } from '@app/core';
import { Transform } from 'class-transformer';
import {
  IsEmail,
  IsEnum,
  IsIn,
  IsNotEmpty,
  IsOptional,
  IsString,
  IsUrl,
  Length,
  Matches,
  MaxLength,
} from 'class-validator';
import { PASSWORD_RULE, PASSWORD_RULE_MESSAGE } from './password-hasher';
import { Tier, UserEntity, UserStatus } from './user.entity';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
const USERNAME = /^[A-Za-z0-9_]{3,20}$/;

export class CreateUserDto {
  /** 3-20 letters, digits or underscores */
  @ApiProperty({ example: 'wangwu' })
  @IsString()
  @Matches(USERNAME, { message: 'username must be 3-20 letters, digits or underscores' })
  username: string;

  @ApiProperty({ example: 'wangwu@example.com' })
  @Transform(trim)
  @IsEmail({}, { message: 'email is not a valid e-mail address' })
  @MaxLength(254)
  email: string;

  /** At least 8 characters with upper-case, lower-case letters and a digit */
  @ApiProperty({ example: 'SecurePass123!' })
  @IsString()
  @Matches(PASSWORD_RULE, { message: PASSWORD_RULE_MESSAGE })
  password: string;

  @ApiProperty({ example: '王五' })
  @Transform(trim)
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  fullName: string;

  @ApiPropertyOptional({ enum: Role, default: Role.Developer })
  @IsOptional()
  @IsEnum(Role, { message: `role must be one of ${Object.values(Role).join(', ')}` })
  role?: Role;

  @ApiPropertyOptional({ example: '质量保障部' })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @MaxLength(100)
  department?: string;

  @ApiPropertyOptional({ example: 'https://cdn.example.com/avatars/u.jpg' })
  @IsOptional()
  @IsUrl(
    { protocols: ['http', 'https'], require_protocol: true },
    { message: 'avatar must be an http(s) URL' },
  )
  @MaxLength(500)
  avatar?: string;
}

/** All fields optional; the password is changed only through PUT /users/me/password. */
export class UpdateUserDto {
  @ApiPropertyOptional({ example: 'zhangsan' })
  @IsOptional()
  @IsString()
  @Matches(USERNAME, { message: 'username must be 3-20 letters, digits or underscores' })
  username?: string;

  @ApiPropertyOptional({ example: 'zhangsan@example.com' })
  @IsOptional()
  @Transform(trim)
  @IsEmail({}, { message: 'email is not a valid e-mail address' })
  @MaxLength(254)
  email?: string;

  @ApiPropertyOptional({ example: '张三丰' })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  fullName?: string;

  @ApiPropertyOptional({ enum: Role, example: Role.Architect })
  @IsOptional()
  @IsEnum(Role, { message: `role must be one of ${Object.values(Role).join(', ')}` })
  role?: Role;

  /** null clears it */
  @ApiPropertyOptional({ example: '架构组', nullable: true, type: String })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @MaxLength(100)
  department?: string | null;

  /** null clears it */
  @ApiPropertyOptional({ nullable: true, type: String })
  @IsOptional()
  @IsUrl(
    { protocols: ['http', 'https'], require_protocol: true },
    { message: 'avatar must be an http(s) URL' },
  )
  @MaxLength(500)
  avatar?: string | null;

  /** Admin only */
  @ApiPropertyOptional({ enum: [UserStatus.Active, UserStatus.Inactive, UserStatus.Suspended] })
  @IsOptional()
  @IsIn([UserStatus.Active, UserStatus.Inactive, UserStatus.Suspended], {
    message: 'status must be one of active, inactive, suspended',
  })
  status?: UserStatus;

  /** Admin only: the rate-limit tier */
  @ApiPropertyOptional({ enum: Tier })
  @IsOptional()
  @IsEnum(Tier, { message: 'tier must be one of free, pro, enterprise' })
  tier?: Tier;
}

export const USER_SORT_FIELDS = ['createdAt', 'username', 'email', 'fullName', 'lastLoginAt'] as const;

export class ListUsersQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: Role })
  @IsOptional()
  @IsEnum(Role, { message: `role must be one of ${Object.values(Role).join(', ')}` })
  role?: Role;

  @ApiPropertyOptional({ enum: UserStatus })
  @IsOptional()
  @IsEnum(UserStatus, { message: `status must be one of ${Object.values(UserStatus).join(', ')}` })
  status?: UserStatus;

  /** Matches username, e-mail or full name */
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(100)
  search?: string;

  @ApiPropertyOptional({ enum: USER_SORT_FIELDS, default: 'createdAt' })
  @IsOptional()
  @IsIn(USER_SORT_FIELDS, { message: `sortBy must be one of ${USER_SORT_FIELDS.join(', ')}` })
  sortBy: (typeof USER_SORT_FIELDS)[number] = 'createdAt';
}

export class DeleteUserQueryDto {
  /** true: remove the row (the audit log keeps the record); default false: soft delete */
  @ApiPropertyOptional({ enum: ['true', 'false'], default: 'false' })
  @IsOptional()
  @IsIn(['true', 'false'], { message: 'hard must be true or false' })
  hard?: 'true' | 'false';
}

export class ChangePasswordDto {
  @ApiProperty()
  @IsString()
  @IsNotEmpty()
  currentPassword: string;

  @ApiProperty({ example: 'EvenMoreSecure456' })
  @IsString()
  @Matches(PASSWORD_RULE, { message: PASSWORD_RULE_MESSAGE })
  newPassword: string;
}

export class VerifyEmailDto {
  @ApiProperty({ description: 'The token from the verification e-mail' })
  @IsString()
  @Length(10, 200)
  token: string;
}

export class UserDto {
  @ApiProperty({ example: 'usr_abc123def456' }) id: string;
  @ApiProperty({ example: 'zhangsan' }) username: string;
  @ApiProperty({ example: 'zhangsan@example.com' }) email: string;
  @ApiProperty({ example: '张三' }) fullName: string;
  @ApiProperty({ enum: Role }) role: Role;
  @ApiProperty({ enum: UserStatus }) status: UserStatus;
  @ApiProperty({ enum: Tier }) tier: Tier;
  @ApiProperty({
    nullable: true,
    type: String,
    example: 'https://cdn.example.com/avatars/usr_abc123def456.jpg',
  })
  avatar: string | null;
  @ApiProperty({ nullable: true, type: String, example: '研发中心' }) department: string | null;
  @ApiProperty() emailVerified: boolean;
  @ApiProperty({ example: '2026-01-15T08:30:00Z' }) createdAt: string;
  @ApiProperty({ example: '2026-01-15T08:30:00Z' }) updatedAt: string;
  @ApiProperty({ nullable: true, type: String, example: '2026-03-14T09:15:00Z' }) lastLoginAt: string | null;
}

export class CreatedUserDto extends UserDto {
  /** Whether the verification mail really left through SMTP (false: kept in the mail outbox). */
  @ApiProperty() verificationEmailSent: boolean;
}

export function mapUser(user: UserEntity): UserDto {
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    fullName: user.fullName,
    role: user.role,
    status: user.status,
    tier: user.tier,
    avatar: user.avatar,
    department: user.department,
    emailVerified: user.emailVerifiedAt !== null,
    createdAt: iso(user.createdAt),
    updatedAt: iso(user.updatedAt),
    lastLoginAt: iso(user.lastLoginAt),
  };
}

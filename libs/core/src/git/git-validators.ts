import { ValidateBy, ValidationOptions } from 'class-validator';
import { isBranchName, isGitUrl } from './git-refs';

/** A repository URL as pipelines, test suites and projects accept it (see isGitUrl). */
export const IsGitUrl = (options?: ValidationOptions) =>
  ValidateBy(
    { name: 'isGitUrl', validator: { validate: (v) => typeof v === 'string' && isGitUrl(v) } },
    {
      message: '$property must be a git URL (https://, ssh://, git://, file:// or user@host:path)',
      ...options,
    },
  );

export const IsBranchName = (options?: ValidationOptions) =>
  ValidateBy(
    { name: 'isBranchName', validator: { validate: (v) => typeof v === 'string' && isBranchName(v) } },
    { message: '$property must be a valid git branch name', ...options },
  );

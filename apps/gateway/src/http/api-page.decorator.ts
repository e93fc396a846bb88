import { applyDecorators, Type } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, getSchemaPath } from '@nestjs/swagger';
import { PaginationDto } from '@app/core';

/** Documents a `{data, pagination}` list response of the given item type. */
export const ApiPage = (item: Type<unknown>): MethodDecorator =>
  applyDecorators(
    ApiExtraModels(item, PaginationDto),
    ApiOkResponse({
      schema: {
        type: 'object',
        required: ['data', 'pagination'],
        properties: {
          data: { type: 'array', items: { $ref: getSchemaPath(item) } },
          pagination: { $ref: getSchemaPath(PaginationDto) },
        },
      },
    }),
  );

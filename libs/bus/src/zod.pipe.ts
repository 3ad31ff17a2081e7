import type { PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { BadParameterError } from '#libs/common';
import { formatZodError } from '#libs/config';

/** Validates a payload once at the boundary; the handler behind it trusts its type. */
export class ZodPipe<Schema extends z.ZodType> implements PipeTransform<unknown, z.infer<Schema>> {
  constructor(private readonly schema: Schema) {}

  transform(value: unknown): z.infer<Schema> {
    const result = this.schema.safeParse(value);
    if (result.success) return result.data;
    throw new BadParameterError(formatZodError(result.error));
  }
}

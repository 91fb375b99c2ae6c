import { ColumnType } from './types';

/** Hive/Glue type of a contract column type (what Athena and the Glue catalog show). */
export function glueType(type: ColumnType): string {
  switch (type.kind) {
    case 'string':
      return 'string';
    case 'int':
      return 'int';
    case 'bigint':
      return 'bigint';
    case 'double':
      return 'double';
    case 'decimal':
      return `decimal(${type.precision},${type.scale})`;
    case 'date':
      return 'date';
    case 'timestamp':
      return 'timestamp';
    case 'boolean':
      return 'boolean';
  }
}

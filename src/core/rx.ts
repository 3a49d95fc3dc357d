/**
 * The RxJS pieces the pure core uses, imported one module each: `import … from 'rxjs'`
 * loads the whole library (~300 modules, ~4 MB of resident heap in the daemon). These
 * paths are in rxjs's package exports and are the very modules its index re-exports, so
 * users importing from 'rxjs' interoperate.
 */
export { scan } from 'rxjs/internal/operators/scan';
export type { OperatorFunction } from 'rxjs/internal/types';

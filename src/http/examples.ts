// An example answer for each operation of /docs, built from the route's zod schema: a shape
// with `examples` in its metadata (src/<domain>/schemas.ts) gives its first example, and the
// rest is put together from its parts. test/openapi.test.ts checks every example against the
// schema it illustrates.
import { z } from 'zod'

type Def = {
  type: string
  shape?: Record<string, z.ZodType>
  element?: z.ZodType
  innerType?: z.ZodType
  options?: z.ZodType[]
  values?: unknown[]
  entries?: Record<string, unknown>
  valueType?: z.ZodType
  in?: z.ZodType
  out?: z.ZodType
  defaultValue?: unknown
  catchall?: z.ZodType
}

const defOf = (s: z.ZodType) => (s as unknown as { _zod: { def: Def } })._zod.def

function metaExample(s: z.ZodType): { found: boolean; value?: unknown } {
  const meta = z.globalRegistry.get(s) as { examples?: unknown[]; example?: unknown } | undefined
  if (Array.isArray(meta?.examples) && meta.examples.length) return { found: true, value: meta.examples[0] }
  if (meta && 'example' in meta) return { found: true, value: meta.example }
  return { found: false }
}

/** an example value of what `schema` outputs */
export function exampleOf(schema: z.ZodType, depth = 0): unknown {
  const m = metaExample(schema)
  if (m.found) return structuredClone(m.value)
  if (depth > 20) return null
  const d = defOf(schema)
  const next = (s: z.ZodType) => exampleOf(s, depth + 1)
  switch (d.type) {
    case 'object': {
      const out: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(d.shape ?? {})) out[k] = next(v)
      return out
    }
    case 'array':
      return [next(d.element!)]
    case 'optional':
    case 'nullable':
    case 'readonly':
    case 'nonoptional':
    case 'catch':
      return next(d.innerType!)
    case 'default':
    case 'prefault':
      return d.defaultValue !== undefined ? structuredClone(d.defaultValue) : next(d.innerType!)
    case 'union':
      return next(d.options![0]!)
    case 'pipe':
      return next(d.out!)
    case 'literal':
      return d.values![0]
    case 'enum':
      return Object.values(d.entries ?? {})[0]
    case 'record':
      return {}
    case 'string':
      return 'text'
    case 'number':
    case 'int':
      return 1
    case 'bigint':
      return 1
    case 'boolean':
      return true
    case 'date':
      return '2024-05-17T09:30:00.000+02:00'
    default:
      return null
  }
}

/**
 * Reads what the JS API does not tell about a module's imports: the limits of an imported
 * memory (WebAssembly.Module.imports gives only names and kinds in Node 20) and the parameter
 * count of an imported function (which abort signature the module uses). Only the type and
 * import sections are read; the rest of the binary is skipped by section length.
 */

export interface MemoryLimits {
  /** Pages of 64 KiB. */
  min: number;
  max?: number;
  shared: boolean;
  /** A 64-bit (memory64) memory: the ABI's pointers are 32-bit, so such a module is refused. */
  is64: boolean;
}

export interface ImportEntry {
  module: string;
  name: string;
  kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
  /** For a memory. */
  memory?: MemoryLimits;
  /** For a function: its parameter and result types (wasm value type bytes). */
  params?: number[];
  results?: number[];
}

export const I32 = 0x7f;

const SECTION_TYPE = 1;
const SECTION_IMPORT = 2;
const KINDS = ['function', 'table', 'memory', 'global', 'tag'] as const;

class Reader {
  offset = 0;
  constructor(private readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.offset >= this.bytes.length;
  }

  byte(): number {
    if (this.offset >= this.bytes.length) throw new RangeError('unexpected end of the module');
    return this.bytes[this.offset++]!;
  }

  /** Unsigned LEB128 up to 32 bits (section sizes, counts, indices, limits). */
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw new RangeError('malformed LEB128 number');
    }
  }

  name(): string {
    const length = this.u32();
    const start = this.offset;
    this.offset += length;
    if (this.offset > this.bytes.length) throw new RangeError('unexpected end of the module');
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + start, length).toString('utf8');
  }

  limits(): { min: number; max?: number; flags: number } {
    const flags = this.u32();
    const min = this.u32();
    return (flags & 1) === 1 ? { flags, min, max: this.u32() } : { flags, min };
  }
}

function readTypes(r: Reader, end: number): Array<{ params: number[]; results: number[] }> {
  const types: Array<{ params: number[]; results: number[] }> = [];
  const count = r.u32();
  for (let i = 0; i < count && r.offset < end; i++) {
    const form = r.byte();
    if (form !== 0x60) {
      // GC proposal types (rec groups, structs) have other forms; no ABI module needs them,
      // and the compiler has already validated the module, so stop reading types here.
      return types;
    }
    const params = Array.from({ length: r.u32() }, () => r.byte());
    const results = Array.from({ length: r.u32() }, () => r.byte());
    types.push({ params, results });
  }
  return types;
}

function skipValueType(r: Reader): void {
  const t = r.byte();
  // (ref null? heaptype): a heap type follows as a signed LEB; typed references only.
  if (t === 0x63 || t === 0x64) r.u32();
}

function readImports(r: Reader, types: Array<{ params: number[]; results: number[] }>): ImportEntry[] {
  const imports: ImportEntry[] = [];
  const count = r.u32();
  for (let i = 0; i < count; i++) {
    const module = r.name();
    const name = r.name();
    const kindByte = r.byte();
    const kind = KINDS[kindByte];
    if (kind === undefined) throw new RangeError(`unknown import kind ${kindByte}`);
    const entry: ImportEntry = { module, name, kind };
    if (kind === 'function') {
      const type = types[r.u32()];
      if (type) {
        entry.params = type.params;
        entry.results = type.results;
      }
    } else if (kind === 'table') {
      skipValueType(r);
      r.limits();
    } else if (kind === 'memory') {
      const { flags, min, max } = r.limits();
      entry.memory = { min, shared: (flags & 2) === 2, is64: (flags & 4) === 4, ...(max !== undefined ? { max } : {}) };
    } else if (kind === 'global') {
      skipValueType(r);
      r.byte();
    } else {
      r.byte();
      r.u32();
    }
    imports.push(entry);
  }
  return imports;
}

/** The module's imports with memory limits and function signatures; call after compiling. */
export function inspectImports(bytes: Uint8Array): ImportEntry[] {
  const r = new Reader(bytes);
  r.offset = 8; // magic and version, checked by the compiler
  let types: Array<{ params: number[]; results: number[] }> = [];
  while (!r.done) {
    const id = r.byte();
    const size = r.u32();
    const end = r.offset + size;
    if (id === SECTION_TYPE) types = readTypes(r, end);
    else if (id === SECTION_IMPORT) return readImports(r, types);
    // Sections come in a fixed order and imports follow types: past them there is nothing to find.
    else if (id > SECTION_IMPORT && id !== 0) return [];
    r.offset = end;
  }
  return [];
}

/** WebAssembly memory sizes, apart from the host so validating a job loads none of it. */
export const PAGE_BYTES = 65_536;
/** A wasm32 memory holds at most 65,536 pages (4 GiB). */
export const MAX_PAGES = 65_536;

"""Pure logic of the adapters: batching, edit planning, paging, error classification. No I/O."""

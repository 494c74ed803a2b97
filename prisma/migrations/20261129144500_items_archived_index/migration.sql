-- Archived items are few; the delta feed takes them out of a user's visible set with an
-- anti-join on this partial index instead of scanning items (docs/sync.md). Prisma's schema
-- language has no partial indexes, so it lives only here.
CREATE INDEX "items_archived_id_idx" ON "items"("id") WHERE "archived";

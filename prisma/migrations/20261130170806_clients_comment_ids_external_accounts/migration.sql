-- Comments draw their ids from item_history's sequence (edited by hand: the diff wrote
-- SET DEFAULT and DROP DEFAULT in one statement). The comment's `comment` history entry is
-- written with the comment's id, and no other history entry can have it (docs/comments.md).
-- The sequence starts above every existing comment id.
SELECT setval('item_history_id_seq', GREATEST((SELECT COALESCE(max(id), 1) FROM comments), (SELECT last_value FROM item_history_id_seq)));
ALTER TABLE "comments" ALTER COLUMN "id" SET DEFAULT nextval('item_history_id_seq'::regclass);
DROP SEQUENCE IF EXISTS "comments_id_seq";

-- CreateTable
CREATE TABLE "external_accounts" (
    "id" BIGSERIAL NOT NULL,
    "user_id" BIGINT NOT NULL,
    "provider" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "external_accounts_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "external_accounts_provider_subject_key" ON "external_accounts"("provider", "subject");

-- CreateIndex
CREATE UNIQUE INDEX "external_accounts_user_id_provider_key" ON "external_accounts"("user_id", "provider");

-- AddForeignKey
ALTER TABLE "external_accounts" ADD CONSTRAINT "external_accounts_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Sign-in with an external account finds the user by their confirmed address (docs/external-sign-in.md).
-- An expression index: Prisma's schema language cannot declare it, so it lives only here.
CREATE INDEX "users_email_confirmed_lower_idx" ON "users" (lower("email_confirmed"));

-- An item's `children` (contract §8.1) changes when a sub-item is added, removed, moved,
-- archived or restored: the parents those rows leave or join are marked changed for the
-- delta feed (docs/items.md). One statement per items statement (transition tables: a
-- trigger with them cannot name columns, so every UPDATE runs it; it writes only when
-- parent_id or archived changed); rows the statement itself wrote are already marked. Rows deleted or updated by another trigger (cascades)
-- belong to a statement that already marked the top of their tree's parent.
CREATE FUNCTION hitask_touch_parents() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  parents bigint[];
BEGIN
  IF pg_trigger_depth() > 1 THEN
    RETURN NULL;
  END IF;
  -- the parents first, into an array, so the UPDATE finds them by the primary key; set
  -- operations (hashed or sorted) rather than joins, whose plans over transition tables (no
  -- statistics, no index) can turn quadratic
  IF TG_OP = 'INSERT' THEN
    parents := ARRAY(SELECT parent_id FROM new_rows WHERE parent_id IS NOT NULL EXCEPT SELECT id FROM new_rows);
  ELSIF TG_OP = 'DELETE' THEN
    parents := ARRAY(SELECT parent_id FROM old_rows WHERE parent_id IS NOT NULL EXCEPT SELECT id FROM old_rows);
  ELSE
    -- rows whose parent or archived flag changed: their old and their new parent
    parents := ARRAY(
      SELECT parent_id FROM ((SELECT id, parent_id, archived FROM old_rows EXCEPT SELECT id, parent_id, archived FROM new_rows)
                             UNION ALL (SELECT id, parent_id, archived FROM new_rows EXCEPT SELECT id, parent_id, archived FROM old_rows)) moved
       WHERE parent_id IS NOT NULL
      EXCEPT SELECT id FROM new_rows);
  END IF;
  IF cardinality(parents) > 0 THEN
    UPDATE items SET changed_at = now() WHERE id = ANY (parents);
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER items_touch_parents_insert AFTER INSERT ON "items"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hitask_touch_parents();
CREATE TRIGGER items_touch_parents_delete AFTER DELETE ON "items"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION hitask_touch_parents();
CREATE TRIGGER items_touch_parents_update AFTER UPDATE ON "items"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hitask_touch_parents();

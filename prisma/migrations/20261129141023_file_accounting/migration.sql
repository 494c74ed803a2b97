-- CreateTable
CREATE TABLE "deleted_blobs" (
    "key" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "deleted_blobs_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE INDEX "deleted_blobs_created_at_idx" ON "deleted_blobs"("created_at");

-- Storage accounting and blob clean-up for every path that adds or removes a files row
-- (upload, item delete, a parent's delete through ON DELETE CASCADE, a user's removal):
-- the quota counter of the team (business_id) or else of the uploader (owner_id) moves by
-- the file's size in the same transaction, and the keys of a removed row's blob and
-- previews are queued in deleted_blobs for the file service to delete (docs/files.md).
CREATE FUNCTION hitask_files_accounting() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.business_id IS NOT NULL THEN
      UPDATE "businesses" SET storage_used = storage_used + NEW.size WHERE id = NEW.business_id;
    ELSE
      UPDATE "users" SET storage_used = storage_used + NEW.size WHERE id = NEW.owner_id;
    END IF;
    RETURN NEW;
  END IF;
  IF OLD.business_id IS NOT NULL THEN
    UPDATE "businesses" SET storage_used = storage_used - OLD.size WHERE id = OLD.business_id;
  ELSE
    UPDATE "users" SET storage_used = storage_used - OLD.size WHERE id = OLD.owner_id;
  END IF;
  INSERT INTO "deleted_blobs" (key) VALUES (OLD.storage_key) ON CONFLICT DO NOTHING;
  INSERT INTO "deleted_blobs" (key)
    SELECT p->>'storage_key' FROM jsonb_array_elements(COALESCE(OLD.previews, '[]'::jsonb)) AS p
     WHERE p->>'storage_key' IS NOT NULL
    ON CONFLICT DO NOTHING;
  RETURN OLD;
END
$$;

CREATE TRIGGER files_accounting AFTER INSERT OR DELETE ON "files"
  FOR EACH ROW EXECUTE FUNCTION hitask_files_accounting();

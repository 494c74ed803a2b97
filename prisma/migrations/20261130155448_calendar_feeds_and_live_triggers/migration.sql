-- CreateTable
CREATE TABLE "calendar_feeds" (
    "user_id" BIGINT NOT NULL,
    "nonce" TEXT NOT NULL,
    "token_hash" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "calendar_feeds_pkey" PRIMARY KEY ("user_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "calendar_feeds_token_hash_key" ON "calendar_feeds"("token_hash");

-- AddForeignKey
ALTER TABLE "calendar_feeds" ADD CONSTRAINT "calendar_feeds_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Live updates (contract §14, docs/sync.md "The live channel"): statement-level triggers
-- announce, on channel hitask_live, every change the delta feed reports (docs/sync.md: items
-- changed_at, a user's item_user_state, users.visibility_changed_at, and items leaving a
-- user's view: permission rows removed, which includes deleted items through the cascade),
-- and every ended session (a live stream of that session closes). NOTIFY is transactional:
-- listeners get it only after COMMIT, never for a rolled-back change.
--
-- Payload (ASCII, at most 7900 bytes; a longer list is split over several notifications):
--   "c <ms> <principal>,<principal>,…"  a change visible to these principals (user ids as
--                                        text and group ids, as in item_permissions); <ms> is
--                                        the lowest change time of the statement (the writing
--                                        transaction's now(), which its changed_at columns hold),
--                                        so a delta cursor of <ms> − 1 reports the change
--   "s 0 <session hash>,…"              these sessions ended
--   "v <ms> <user id>,…"                 a calendar feed's address or its owner's time zone
--                                        changed (no live event; see the end of this file)
-- Identical notifications of one transaction are delivered once (PostgreSQL folds them),
-- so a cascade that fires the same statement trigger per parent row costs one message.
CREATE FUNCTION hitask_live_notify(kind text, t timestamptz, keys text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  head text;
  chunk text := '';
  k text;
BEGIN
  IF keys IS NULL OR cardinality(keys) = 0 THEN RETURN; END IF;
  head := kind || ' ' || COALESCE(floor(extract(epoch FROM t) * 1000)::bigint, 0)::text || ' ';
  FOREACH k IN ARRAY keys LOOP
    CONTINUE WHEN k IS NULL OR k = '';
    IF chunk <> '' AND octet_length(head) + octet_length(chunk) + 1 + octet_length(k) > 7900 THEN
      PERFORM pg_notify('hitask_live', head || chunk);
      chunk := '';
    END IF;
    chunk := CASE WHEN chunk = '' THEN k ELSE chunk || ',' || k END;
  END LOOP;
  IF chunk <> '' THEN PERFORM pg_notify('hitask_live', head || chunk); END IF;
END
$$;

-- an item row changed (fields, comments, archive/restore, touchItems after a permission
-- change, tags): everyone on its permission list. (An inserted item has no permission rows
-- yet; the insert of those rows announces it.)
CREATE FUNCTION hitask_live_items_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM hitask_live_notify('c',
    (SELECT least(now(), min(n.changed_at)) FROM hitask_new n),
    ARRAY(SELECT DISTINCT p.principal FROM item_permissions p WHERE p.item_id IN (SELECT n.id FROM hitask_new n)));
  RETURN NULL;
END
$$;
CREATE TRIGGER items_live_update AFTER UPDATE ON "items"
  REFERENCING NEW TABLE AS hitask_new FOR EACH STATEMENT EXECUTE FUNCTION hitask_live_items_updated();

-- permission rows added, changed or removed: the principals concerned (a removal makes the
-- item leave their view, which the delta reports by its absence; an item's delete removes its
-- rows through the foreign key's cascade)
CREATE FUNCTION hitask_live_permissions_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM hitask_live_notify('c', now(), ARRAY(SELECT DISTINCT n.principal FROM hitask_new n));
  RETURN NULL;
END
$$;
CREATE FUNCTION hitask_live_permissions_old() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM hitask_live_notify('c', now(), ARRAY(SELECT DISTINCT o.principal FROM hitask_old o));
  RETURN NULL;
END
$$;
CREATE TRIGGER item_permissions_live_insert AFTER INSERT ON "item_permissions"
  REFERENCING NEW TABLE AS hitask_new FOR EACH STATEMENT EXECUTE FUNCTION hitask_live_permissions_new();
CREATE TRIGGER item_permissions_live_update AFTER UPDATE ON "item_permissions"
  REFERENCING NEW TABLE AS hitask_new FOR EACH STATEMENT EXECUTE FUNCTION hitask_live_permissions_new();
CREATE TRIGGER item_permissions_live_delete AFTER DELETE ON "item_permissions"
  REFERENCING OLD TABLE AS hitask_old FOR EACH STATEMENT EXECUTE FUNCTION hitask_live_permissions_old();

-- a user's own state of an item (starred, unread, alerts through touchUserState): that user
CREATE FUNCTION hitask_live_user_state() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM hitask_live_notify('c',
    (SELECT least(now(), min(n.changed_at)) FROM hitask_new n),
    ARRAY(SELECT DISTINCT n.user_id::text FROM hitask_new n));
  RETURN NULL;
END
$$;
CREATE TRIGGER item_user_state_live_insert AFTER INSERT ON "item_user_state"
  REFERENCING NEW TABLE AS hitask_new FOR EACH STATEMENT EXECUTE FUNCTION hitask_live_user_state();
CREATE TRIGGER item_user_state_live_update AFTER UPDATE ON "item_user_state"
  REFERENCING NEW TABLE AS hitask_new FOR EACH STATEMENT EXECUTE FUNCTION hitask_live_user_state();

-- what a user can see changed without an item changing (group or team membership:
-- touchVisibility): that user. Other updates of users (last_seen_at, …) announce nothing.
CREATE FUNCTION hitask_live_visibility() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM hitask_live_notify('c',
    (SELECT least(now(), min(n.visibility_changed_at)) FROM hitask_new n JOIN hitask_old o ON o.id = n.id
      WHERE n.visibility_changed_at IS DISTINCT FROM o.visibility_changed_at),
    ARRAY(SELECT n.id::text FROM hitask_new n JOIN hitask_old o ON o.id = n.id
      WHERE n.visibility_changed_at IS DISTINCT FROM o.visibility_changed_at));
  RETURN NULL;
END
$$;
CREATE TRIGGER users_live_visibility AFTER UPDATE ON "users"
  REFERENCING OLD TABLE AS hitask_old NEW TABLE AS hitask_new FOR EACH STATEMENT EXECUTE FUNCTION hitask_live_visibility();

-- ended sessions (sign-out, password change, expiry, a removed user): their live streams close
CREATE FUNCTION hitask_live_sessions_ended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM hitask_live_notify('s', NULL, ARRAY(SELECT o.id_hash FROM hitask_old o));
  RETURN NULL;
END
$$;
CREATE TRIGGER sessions_live_delete AFTER DELETE ON "sessions"
  REFERENCING OLD TABLE AS hitask_old FOR EACH STATEMENT EXECUTE FUNCTION hitask_live_sessions_ended();

-- What a calendar feed depends on besides items (src/calendar/service.ts): its address and the
-- owner's time_zone preference. "v <ms> <user id>,…" tells every instance to stop trusting what it
-- remembers about that user's feed (no live event: the delta reports neither).
CREATE FUNCTION hitask_live_feed_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM hitask_live_notify('v', now(), ARRAY(SELECT DISTINCT o.user_id::text FROM hitask_old o));
  RETURN NULL;
END
$$;
CREATE TRIGGER calendar_feeds_live_update AFTER UPDATE ON "calendar_feeds"
  REFERENCING OLD TABLE AS hitask_old FOR EACH STATEMENT EXECUTE FUNCTION hitask_live_feed_changed();
CREATE TRIGGER calendar_feeds_live_delete AFTER DELETE ON "calendar_feeds"
  REFERENCING OLD TABLE AS hitask_old FOR EACH STATEMENT EXECUTE FUNCTION hitask_live_feed_changed();

-- row-level with WHEN: other preferences (clients keep UI state there) cost no function call
CREATE FUNCTION hitask_live_time_zone_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM hitask_live_notify('v', now(), ARRAY[COALESCE(NEW.user_id, OLD.user_id)::text]);
  RETURN NULL;
END
$$;
CREATE TRIGGER user_preferences_live_time_zone AFTER INSERT OR UPDATE ON "user_preferences"
  FOR EACH ROW WHEN (NEW.key = 'time_zone') EXECUTE FUNCTION hitask_live_time_zone_changed();
CREATE TRIGGER user_preferences_live_time_zone_delete AFTER DELETE ON "user_preferences"
  FOR EACH ROW WHEN (OLD.key = 'time_zone') EXECUTE FUNCTION hitask_live_time_zone_changed();

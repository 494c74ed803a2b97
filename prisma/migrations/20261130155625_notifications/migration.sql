-- AlterTable
ALTER TABLE "businesses" ALTER COLUMN "email_inbox" SET DEFAULT ('t'::text || substr(replace((gen_random_uuid())::text, '-'::text, ''::text), 1, 24));

-- CreateTable
CREATE TABLE "outbox_events" (
    "id" BIGSERIAL NOT NULL,
    "kind" TEXT NOT NULL,
    "item_id" BIGINT NOT NULL,
    "actor_id" BIGINT,
    "data" JSONB NOT NULL DEFAULT '{}',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "outbox_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "notification_pending" (
    "id" BIGSERIAL NOT NULL,
    "user_id" BIGINT NOT NULL,
    "channel" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "item_id" BIGINT NOT NULL,
    "actor_id" BIGINT,
    "data" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "notification_pending_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "notification_batches" (
    "user_id" BIGINT NOT NULL,
    "due_at" TIMESTAMPTZ(3) NOT NULL,
    "job_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "notification_batches_pkey" PRIMARY KEY ("user_id")
);

-- CreateTable
CREATE TABLE "reminder_schedule" (
    "alert_id" BIGINT NOT NULL,
    "item_id" BIGINT NOT NULL,
    "user_id" BIGINT NOT NULL,
    "fire_at" TIMESTAMPTZ(3) NOT NULL,
    "occurrence" TEXT,
    "job_id" UUID NOT NULL,

    CONSTRAINT "reminder_schedule_pkey" PRIMARY KEY ("alert_id")
);

-- CreateTable
CREATE TABLE "notification_sent" (
    "key" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "notification_sent_pkey" PRIMARY KEY ("key")
);

-- CreateTable
CREATE TABLE "push_subscriptions" (
    "id" BIGSERIAL NOT NULL,
    "user_id" BIGINT NOT NULL,
    "endpoint" TEXT NOT NULL,
    "p256dh" TEXT NOT NULL,
    "auth" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "push_subscriptions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webhooks" (
    "id" BIGSERIAL NOT NULL,
    "user_id" BIGINT NOT NULL,
    "url" TEXT NOT NULL,
    "events" TEXT[],
    "secret" TEXT NOT NULL,
    "active" BOOLEAN NOT NULL DEFAULT true,
    "consecutive_failures" INTEGER NOT NULL DEFAULT 0,
    "disabled_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "webhooks_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "inbound_messages" (
    "business_id" BIGINT NOT NULL,
    "message_id" TEXT NOT NULL,
    "item_id" BIGINT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "inbound_messages_pkey" PRIMARY KEY ("business_id","message_id")
);

-- CreateIndex
CREATE INDEX "outbox_events_attempts_id_idx" ON "outbox_events"("attempts", "id");

-- CreateIndex
CREATE INDEX "notification_pending_user_id_id_idx" ON "notification_pending"("user_id", "id");

-- CreateIndex
CREATE INDEX "reminder_schedule_item_id_idx" ON "reminder_schedule"("item_id");

-- CreateIndex
CREATE INDEX "reminder_schedule_fire_at_idx" ON "reminder_schedule"("fire_at");

-- CreateIndex
CREATE INDEX "notification_sent_created_at_idx" ON "notification_sent"("created_at");

-- CreateIndex
CREATE UNIQUE INDEX "push_subscriptions_endpoint_key" ON "push_subscriptions"("endpoint");

-- CreateIndex
CREATE INDEX "push_subscriptions_user_id_idx" ON "push_subscriptions"("user_id");

-- CreateIndex
CREATE INDEX "webhooks_user_id_idx" ON "webhooks"("user_id");

-- CreateIndex
CREATE UNIQUE INDEX "businesses_email_inbox_key" ON "businesses"("email_inbox");

-- AddForeignKey
ALTER TABLE "notification_pending" ADD CONSTRAINT "notification_pending_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "notification_batches" ADD CONSTRAINT "notification_batches_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "push_subscriptions" ADD CONSTRAINT "push_subscriptions_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "webhooks" ADD CONSTRAINT "webhooks_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Every existing team gets its random email-in address (new teams get one from the default).
UPDATE "businesses" SET email_inbox = ('t' || substr(replace(gen_random_uuid()::text, '-', ''), 1, 24)) WHERE email_inbox IS NULL;

-- The transactional outbox (docs/notifications.md). These triggers write an event row in the
-- same transaction as the change, whichever code path made it, and NOTIFY hitask_outbox,
-- which PostgreSQL delivers only at commit (never for a rolled-back change).
--   item_history → 'history': one row per item and actor per statement, with the entries
--   item_alerts  → 'alerts':  the reminders of the item must be scheduled again
--   items        → 'dates':   a change of what a reminder depends on, when the item has alerts
-- Item deletions are written by the item service (it knows the actor): 'deleted'.
CREATE FUNCTION hitask_outbox_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "outbox_events" (kind, item_id, actor_id, data)
  SELECT 'history', n.item_id, n.user_id,
         jsonb_build_object(
           'entries', jsonb_agg(jsonb_build_object('p', n.property_name, 'v', left(n.value, 1000), 'c', n.comment_id) ORDER BY n.id),
           'actorName', min(n.user_name))
    FROM history_new n
   GROUP BY n.item_id, n.user_id;
  PERFORM pg_notify('hitask_outbox', '');
  RETURN NULL;
END
$$;

CREATE TRIGGER item_history_outbox AFTER INSERT ON "item_history"
  REFERENCING NEW TABLE AS history_new
  FOR EACH STATEMENT EXECUTE FUNCTION hitask_outbox_history();

CREATE FUNCTION hitask_outbox_alerts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO "outbox_events" (kind, item_id) SELECT DISTINCT 'alerts', item_id FROM alerts_old;
  ELSE
    INSERT INTO "outbox_events" (kind, item_id) SELECT DISTINCT 'alerts', item_id FROM alerts_new;
  END IF;
  PERFORM pg_notify('hitask_outbox', '');
  RETURN NULL;
END
$$;

CREATE TRIGGER item_alerts_outbox_insert AFTER INSERT ON "item_alerts"
  REFERENCING NEW TABLE AS alerts_new
  FOR EACH STATEMENT EXECUTE FUNCTION hitask_outbox_alerts();
CREATE TRIGGER item_alerts_outbox_update AFTER UPDATE ON "item_alerts"
  REFERENCING NEW TABLE AS alerts_new
  FOR EACH STATEMENT EXECUTE FUNCTION hitask_outbox_alerts();
CREATE TRIGGER item_alerts_outbox_delete AFTER DELETE ON "item_alerts"
  REFERENCING OLD TABLE AS alerts_old
  FOR EACH STATEMENT EXECUTE FUNCTION hitask_outbox_alerts();

CREATE FUNCTION hitask_outbox_item_dates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM "item_alerts" WHERE item_id = NEW.id) THEN
    INSERT INTO "outbox_events" (kind, item_id) VALUES ('dates', NEW.id);
    PERFORM pg_notify('hitask_outbox', '');
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER items_outbox_dates AFTER UPDATE ON "items"
  FOR EACH ROW
  WHEN (OLD.start_date IS DISTINCT FROM NEW.start_date OR OLD.end_date IS DISTINCT FROM NEW.end_date
     OR OLD.due_date IS DISTINCT FROM NEW.due_date OR OLD.category IS DISTINCT FROM NEW.category
     OR OLD.recurring IS DISTINCT FROM NEW.recurring OR OLD.recurring_interval IS DISTINCT FROM NEW.recurring_interval
     OR OLD.recurring_end_date IS DISTINCT FROM NEW.recurring_end_date OR OLD.instances IS DISTINCT FROM NEW.instances
     OR OLD.completed IS DISTINCT FROM NEW.completed OR OLD.archived IS DISTINCT FROM NEW.archived)
  EXECUTE FUNCTION hitask_outbox_item_dates();

//! A call's progress as notifications: every event of its turn, in exec's
//! JSON shape, goes out as `codex/event` with `_meta: {requestId,
//! threadId}`, and as `notifications/progress` when the request carried a
//! progress token.
//!
//! The turn reports events synchronously; they queue here and one task
//! per call sends them in order. [`Events::finish`] waits until they are
//! out, so every event of a call reaches the client before its result.

use std::time::Duration;

use rmcp::model::{CustomNotification, ProgressNotificationParam, ServerNotification};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::handler::Client;

/// How long a call's result waits for its events to go out.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// The events of one call, on their way to the client.
#[derive(Debug)]
pub(super) struct Events {
    queue: mpsc::UnboundedSender<Value>,
    sender: tokio::task::JoinHandle<()>,
}

impl Events {
    /// Starts sending the events of `client`'s call on `thread_id`.
    pub(super) fn start(client: Client, thread_id: String) -> Events {
        let (queue, mut events) = mpsc::unbounded_channel::<Value>();
        let sender = tokio::spawn(async move {
            let request_id = serde_json::to_value(&client.request_id).unwrap_or(Value::Null);
            let mut progress = 0.0;
            while let Some(mut event) = events.recv().await {
                let summary = summary(&event);
                if let Value::Object(fields) = &mut event {
                    fields.insert(
                        "_meta".to_owned(),
                        json!({"requestId": request_id, "threadId": thread_id}),
                    );
                }
                let notification = ServerNotification::CustomNotification(CustomNotification::new(
                    "codex/event",
                    Some(event),
                ));
                if client.peer.send_notification(notification).await.is_err() {
                    // The client is gone; the call ends without anyone
                    // reading its progress.
                    return;
                }
                if let Some(token) = &client.progress {
                    progress += 1.0;
                    let mut param = ProgressNotificationParam::new(token.clone(), progress);
                    param.message = Some(summary);
                    let _ = client.peer.notify_progress(param).await;
                }
            }
        });
        Events { queue, sender }
    }

    /// Queues `event` (in exec's JSON shape).
    pub(super) fn send(&self, event: Value) {
        let _ = self.queue.send(event);
    }

    /// Waits (boundedly) until every event queued so far is sent.
    pub(super) async fn finish(self) {
        let Events { queue, sender } = self;
        drop(queue);
        let abort = sender.abort_handle();
        if tokio::time::timeout(FLUSH_TIMEOUT, sender).await.is_err() {
            abort.abort();
        }
    }
}

/// A short line for a progress notification: the event's type, and the
/// item's kind.
fn summary(event: &Value) -> String {
    let kind = event["type"].as_str().unwrap_or("event");
    match event["item"]["type"].as_str() {
        Some(item) => format!("{kind}: {item}"),
        None => kind.to_owned(),
    }
}

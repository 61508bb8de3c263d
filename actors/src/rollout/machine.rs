//! The rollout writer's pure core: each recorded item becomes one line,
//! the items that arrived together one buffer (so one `write` puts them
//! whole, newlines included), and a failing file is reported once and its
//! lost lines counted, never silently.

use std::time::SystemTime;

use super::format::{RolloutItem, render_line};

/// Everything that can happen to the writer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Input {
    /// Items to record, in order.
    Record(Vec<RolloutItem>),
    /// Writing `lines` lines failed.
    WriteFailed {
        /// How many lines were lost.
        lines: u64,
        /// Why.
        error: String,
    },
}

/// What the shell must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Append these `lines` lines (newlines included) in one write.
    Append {
        /// The text.
        text: String,
        /// How many lines it holds.
        lines: u64,
    },
    /// Say, once, that the file cannot be written.
    Warn(String),
}

/// The writer's state.
#[derive(Debug, Default)]
pub(crate) struct Machine {
    dropped: u64,
    warned: bool,
}

impl Machine {
    pub(crate) fn new() -> Self {
        Machine::default()
    }

    /// Lines that could not be written.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }

    pub(crate) fn step(&mut self, input: Input, now: SystemTime) -> Vec<Effect> {
        match input {
            Input::Record(items) => {
                let mut text = String::new();
                for item in &items {
                    text.push_str(&render_line(item, now));
                    text.push('\n');
                }
                vec![Effect::Append {
                    text,
                    lines: items.len() as u64,
                }]
            }
            Input::WriteFailed { lines, error } => {
                self.dropped += lines;
                if self.warned {
                    Vec::new()
                } else {
                    self.warned = true;
                    vec![Effect::Warn(error)]
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_item_and_one_warning_per_failing_file() {
        let mut machine = Machine::new();
        let item = RolloutItem::Compacted {
            message: "a\nb".to_owned(),
            replacement_history: None,
        };
        let effects = machine.step(
            Input::Record(vec![item.clone(), item]),
            SystemTime::UNIX_EPOCH,
        );
        let [Effect::Append { text, lines: 2 }] = effects.as_slice() else {
            panic!("{effects:?}");
        };
        assert_eq!(text.matches('\n').count(), 2, "{text}");
        assert!(text.ends_with('\n'));
        let failed = |lines| Input::WriteFailed {
            lines,
            error: "disk full".to_owned(),
        };
        assert_eq!(
            machine.step(failed(2), SystemTime::UNIX_EPOCH),
            vec![Effect::Warn("disk full".to_owned())]
        );
        assert!(machine.step(failed(1), SystemTime::UNIX_EPOCH).is_empty());
        assert_eq!(machine.dropped(), 3);
    }
}

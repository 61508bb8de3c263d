//! The config-source actor's pure core: debouncing.
//!
//! Editors save in bursts (truncate, write, rename, chmod). Every filesystem
//! event for the watched file re-arms one timer; only when the file has
//! been quiet for the debounce interval does the source publish a change.

use std::time::Duration;

/// Everything that can happen to a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// The filesystem reported a change to the watched file.
    Touched,
    /// A previously armed timer fired; `generation` says which one.
    TimerFired {
        /// The generation the timer was armed with.
        generation: u64,
    },
}

/// What the shell must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Arm a timer that delivers `TimerFired { generation }` after `after`.
    ArmTimer {
        /// How long to wait.
        after: Duration,
        /// The generation to deliver.
        generation: u64,
    },
    /// Tell the session the source changed.
    Publish,
}

/// Debounce state of one source.
#[derive(Debug)]
pub struct Machine {
    debounce: Duration,
    generation: u64,
}

impl Machine {
    /// A source that waits `debounce` of quiet before publishing.
    pub fn new(debounce: Duration) -> Self {
        Machine {
            debounce,
            generation: 0,
        }
    }

    /// Advances the machine.
    pub fn step(&mut self, input: Input) -> Vec<Effect> {
        match input {
            Input::Touched => {
                self.generation += 1;
                vec![Effect::ArmTimer {
                    after: self.debounce,
                    generation: self.generation,
                }]
            }
            Input::TimerFired { generation } if generation == self.generation => {
                vec![Effect::Publish]
            }
            // A timer superseded by a later touch.
            Input::TimerFired { .. } => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_publishes_once() {
        let mut machine = Machine::new(Duration::from_millis(100));
        let mut published = 0;
        let mut timers = Vec::new();
        for _ in 0..5 {
            for effect in machine.step(Input::Touched) {
                if let Effect::ArmTimer { generation, .. } = effect {
                    timers.push(generation);
                }
            }
        }
        for generation in timers {
            for effect in machine.step(Input::TimerFired { generation }) {
                if effect == Effect::Publish {
                    published += 1;
                }
            }
        }
        assert_eq!(published, 1);
    }

    #[test]
    fn separate_edits_publish_separately() {
        let mut machine = Machine::new(Duration::from_millis(100));
        assert_eq!(
            machine.step(Input::Touched),
            vec![Effect::ArmTimer {
                after: Duration::from_millis(100),
                generation: 1
            }]
        );
        assert_eq!(
            machine.step(Input::TimerFired { generation: 1 }),
            vec![Effect::Publish]
        );
        machine.step(Input::Touched);
        assert_eq!(
            machine.step(Input::TimerFired { generation: 2 }),
            vec![Effect::Publish]
        );
    }
}

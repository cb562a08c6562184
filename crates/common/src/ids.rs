//! Offsets and ids are distinct types so that a queue offset can never be passed where a
//! CommitLog offset is expected.

use std::fmt;

macro_rules! id_newtype {
    ($(#[$doc:meta])* $name:ident($inner:ty)) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub $inner);

        impl $name {
            pub const fn get(self) -> $inner {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<$inner> for $name {
            fn from(value: $inner) -> Self {
                $name(value)
            }
        }
    };
}

id_newtype!(
    /// Index of a queue inside a topic on one broker (`queueId`).
    QueueId(i32)
);
id_newtype!(
    /// Byte position of a record in the broker's CommitLog (`PHYSICALOFFSET`, `commitLogOffset`).
    CommitLogOffset(i64)
);
id_newtype!(
    /// Logical position of a message inside one consume queue (`queueOffset`).
    QueueOffset(i64)
);

//! The writer's batch: queued commands laid out for one vectored write.
//!
//! Length fields, headers and small bodies are copied into one buffer; larger bodies are
//! referenced as they are. A pull answer's records, read from the mapped CommitLog, thus
//! reach the socket with the kernel's copy only, instead of two more copies in user space.

use bytes::Bytes;
use ferrocket_protocol::{frame, ProtocolError, RemotingCommand};
use std::io::{self, IoSlice};
use std::ops::Range;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Bodies (and body pieces) shorter than this are copied: a copy that small costs less than
/// a slice of its own in the write call.
const COPY_BELOW: usize = 512;

/// Slices handed to one write call (Linux takes up to 1024).
const MAX_SLICES: usize = 64;

enum Piece {
    /// A range of the batch's own buffer.
    Copied(Range<usize>),
    Shared(Bytes),
}

pub(crate) struct Batch {
    buf: Vec<u8>,
    pieces: Vec<Piece>,
    /// Where the part of `buf` that no piece covers yet starts.
    open: usize,
    /// Bytes in `pieces`.
    closed_len: usize,
}

impl Batch {
    pub(crate) fn with_capacity(bytes: usize) -> Batch {
        Batch {
            buf: Vec::with_capacity(bytes),
            pieces: Vec::new(),
            open: 0,
            closed_len: 0,
        }
    }

    /// Bytes the batch would write.
    pub(crate) fn len(&self) -> usize {
        self.closed_len + self.buf.len() - self.open
    }

    /// Adds the frame of `cmd`; a command that cannot be encoded adds nothing.
    pub(crate) fn push(&mut self, cmd: &RemotingCommand) -> Result<(), ProtocolError> {
        frame::encode_prefix(cmd, &mut self.buf)?;
        for piece in cmd.body_pieces() {
            if piece.len() < COPY_BELOW {
                self.buf.extend_from_slice(piece);
            } else {
                self.close_copied();
                self.closed_len += piece.len();
                self.pieces.push(Piece::Shared(piece.clone()));
            }
        }
        Ok(())
    }

    fn close_copied(&mut self) {
        if self.buf.len() > self.open {
            self.closed_len += self.buf.len() - self.open;
            self.pieces.push(Piece::Copied(self.open..self.buf.len()));
            self.open = self.buf.len();
        }
    }

    fn piece(&self, index: usize) -> &[u8] {
        match &self.pieces[index] {
            Piece::Copied(range) => &self.buf[range.clone()],
            Piece::Shared(bytes) => bytes,
        }
    }

    /// Writes everything, then empties the batch (keeping its buffer's capacity).
    pub(crate) async fn write_to<W: AsyncWrite + Unpin>(&mut self, out: &mut W) -> io::Result<()> {
        self.close_copied();
        // The first piece not wholly written, and how much of it was.
        let (mut index, mut offset) = (0, 0);
        while index < self.pieces.len() {
            let mut slices = [IoSlice::new(&[]); MAX_SLICES];
            let count = (self.pieces.len() - index).min(MAX_SLICES);
            for (i, slice) in slices.iter_mut().take(count).enumerate() {
                let piece = self.piece(index + i);
                *slice = IoSlice::new(if i == 0 { &piece[offset..] } else { piece });
            }
            let mut written = out.write_vectored(&slices[..count]).await?;
            if written == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            while written > 0 {
                let left = self.piece(index).len() - offset;
                if written < left {
                    offset += written;
                    break;
                }
                written -= left;
                index += 1;
                offset = 0;
            }
        }
        self.buf.clear();
        self.pieces.clear();
        self.open = 0;
        self.closed_len = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    /// Takes at most `limit` bytes per write, one slice at most per call when `one_slice`:
    /// the short writes a socket makes when its buffer fills.
    struct Trickle {
        out: Vec<u8>,
        limit: usize,
        one_slice: bool,
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let n = buf.len().min(self.limit);
            self.out.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }

        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            slices: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            let mut n = 0;
            for s in slices {
                let take = s.len().min(self.limit - n);
                self.out.extend_from_slice(&s[..take]);
                n += take;
                if n == self.limit || self.one_slice {
                    break;
                }
            }
            Poll::Ready(Ok(n))
        }

        fn is_write_vectored(&self) -> bool {
            true
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn commands() -> Vec<RemotingCommand> {
        let big = |seed: u8, len: usize| -> Bytes { (0..len).map(|i| seed ^ i as u8).collect() };
        vec![
            RemotingCommand::request(ferrocket_protocol::RequestCode(11)).with_body(big(1, 100)),
            RemotingCommand::request(ferrocket_protocol::RequestCode(11))
                .with_body(big(2, 3000))
                .with_body_parts(vec![big(3, 700), big(4, 10), big(5, 5000)]),
            RemotingCommand::request(ferrocket_protocol::RequestCode(12)),
            RemotingCommand::request(ferrocket_protocol::RequestCode(13))
                .with_body_parts((0..150).map(|i| big(i as u8, 600 + i)).collect()),
        ]
    }

    /// Whatever the socket takes per call, the bytes written are the frames back to back,
    /// and the batch is empty afterwards.
    #[tokio::test]
    async fn short_writes_still_write_every_frame_in_order() {
        let mut expected = Vec::new();
        for cmd in commands() {
            expected.extend(frame::encode(&cmd).unwrap());
        }
        for (limit, one_slice) in [(usize::MAX, false), (1, false), (777, false), (4096, true)] {
            let mut batch = Batch::with_capacity(1024);
            for cmd in commands() {
                batch.push(&cmd).unwrap();
            }
            assert_eq!(batch.len(), expected.len());
            let mut out = Trickle {
                out: Vec::new(),
                limit,
                one_slice,
            };
            batch.write_to(&mut out).await.unwrap();
            assert!(out.out == expected, "limit {limit}, one slice {one_slice}");
            assert_eq!(batch.len(), 0);
            batch.write_to(&mut out).await.unwrap();
            assert_eq!(
                out.out.len(),
                expected.len(),
                "an empty batch writes nothing"
            );
        }
    }
}

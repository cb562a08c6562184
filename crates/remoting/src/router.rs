use crate::Channel;
use ferrocket_protocol::{RemotingCommand, RequestCode, ResponseCode};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What a processor gives back: `Ok(Some(response))` is written back (never for oneway
/// requests); `Ok(None)` writes nothing now — the processor may answer later through
/// [`Channel::send`], as long polling does; `Err(e)` is answered SYSTEM_ERROR with `e` as the
/// remark, as Java answers a processor exception.
pub type HandlerResult = Result<Option<RemotingCommand>, Box<dyn std::error::Error + Send + Sync>>;

/// Handles the requests of one or more codes.
pub trait Processor: Send + Sync + 'static {
    fn process(&self, channel: Channel, request: RemotingCommand) -> BoxFuture<HandlerResult>;
}

impl<F, Fut> Processor for F
where
    F: Fn(Channel, RemotingCommand) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = HandlerResult> + Send + 'static,
{
    fn process(&self, channel: Channel, request: RemotingCommand) -> BoxFuture<HandlerResult> {
        Box::pin(self(channel, request))
    }
}

/// Request code → processor. Unregistered codes go to the default processor if one is set,
/// else are answered REQUEST_CODE_NOT_SUPPORTED.
#[derive(Clone, Default)]
pub struct Router {
    processors: HashMap<i32, Arc<dyn Processor>>,
    default: Option<Arc<dyn Processor>>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut codes: Vec<_> = self.processors.keys().collect();
        codes.sort();
        f.debug_struct("Router")
            .field("codes", &codes)
            .field("default", &self.default.is_some())
            .finish()
    }
}

impl Router {
    pub fn new() -> Self {
        Self::default()
    }

    /// Routes `code` to `processor`, replacing an earlier registration.
    pub fn route(mut self, code: RequestCode, processor: impl Processor) -> Self {
        self.processors.insert(code.0, Arc::new(processor));
        self
    }

    /// Routes several codes to one shared processor.
    pub fn route_shared(mut self, codes: &[RequestCode], processor: Arc<dyn Processor>) -> Self {
        for code in codes {
            self.processors.insert(code.0, processor.clone());
        }
        self
    }

    /// The processor for codes nobody registered.
    pub fn fallback(mut self, processor: impl Processor) -> Self {
        self.default = Some(Arc::new(processor));
        self
    }

    /// Runs the processor of `request` and returns what should be written back, if anything.
    pub(crate) async fn dispatch(
        &self,
        channel: Channel,
        request: RemotingCommand,
    ) -> Option<RemotingCommand> {
        let oneway = request.is_oneway();
        let opaque = request.opaque;
        let serialize_type = request.serialize_type;
        let processor = self
            .processors
            .get(&request.code)
            .or(self.default.as_ref())
            .cloned();
        let response = match processor {
            None => Some(RemotingCommand::response(
                ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
                Some(format!(" request type {} not supported", request.code)),
            )),
            Some(p) => match p.process(channel, request).await {
                Ok(response) => response,
                Err(e) => Some(RemotingCommand::response(
                    ResponseCode::SYSTEM_ERROR,
                    Some(e.to_string()),
                )),
            },
        };
        if oneway {
            return None;
        }
        response.map(|mut r| {
            r.opaque = opaque;
            r.flag |= ferrocket_protocol::FLAG_RESPONSE;
            r.serialize_type = serialize_type;
            r
        })
    }
}

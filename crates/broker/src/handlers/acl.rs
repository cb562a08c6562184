//! The ACL admin codes (50–53) on a broker without ACL.
//!
//! Ferrocket has no access control, which is a Java broker's default (`aclEnable=false`). Such a
//! Java broker registers no access validator, so each of these handlers meets a null validator:
//! the update and delete codes answer their own failure code with the exception's (null)
//! message, and GET_BROKER_CLUSTER_ACL_INFO logs the error and writes no response at all. The
//! headers are still decoded first, so a missing required field is answered as for any code.

use crate::Broker;
use ferrocket_protocol::header::*;
use ferrocket_protocol::{RemotingCommand, ResponseCode};
use ferrocket_remoting::{Channel, HandlerResult};
use std::sync::Arc;

fn failed(code: ResponseCode) -> HandlerResult {
    Ok(Some(RemotingCommand::response(code, None)))
}

/// UPDATE_AND_CREATE_ACL_CONFIG (50).
pub fn update_access_config(_: &Arc<Broker>, _: &Channel, r: &RemotingCommand) -> HandlerResult {
    let _: CreateAccessConfigRequestHeader = r.decode_header()?;
    failed(ResponseCode::UPDATE_AND_CREATE_ACL_CONFIG_FAILED)
}

/// DELETE_ACL_CONFIG (51).
pub fn delete_access_config(_: &Arc<Broker>, _: &Channel, r: &RemotingCommand) -> HandlerResult {
    let _: DeleteAccessConfigRequestHeader = r.decode_header()?;
    failed(ResponseCode::DELETE_ACL_CONFIG_FAILED)
}

/// UPDATE_GLOBAL_WHITE_ADDRS_CONFIG (53).
pub fn update_global_white_addrs(
    _: &Arc<Broker>,
    _: &Channel,
    r: &RemotingCommand,
) -> HandlerResult {
    let _: UpdateGlobalWhiteAddrsConfigRequestHeader = r.decode_header()?;
    failed(ResponseCode::UPDATE_GLOBAL_WHITE_ADDRS_CONFIG_FAILED)
}

/// GET_BROKER_CLUSTER_ACL_INFO (52): no response, as Java's handler returns null.
pub fn acl_config_version(_: &Arc<Broker>, _: &Channel, _: &RemotingCommand) -> HandlerResult {
    tracing::warn!("GET_BROKER_CLUSTER_ACL_INFO on a broker without ACL: not answered, as Java");
    Ok(None)
}

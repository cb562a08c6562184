//! `mqadmin <command> [options]`: the everyday commands of Apache RocketMQ's admin tool, with
//! its command names, option letters and output layout, over the client's [`Admin`] API.
//!
//! Every command takes `-n` (name servers; `NAMESRV_ADDR` when absent) and `-h`. Output goes
//! to a string that the binary prints, so a command that fails half-way still shows what it
//! did before the error.

mod cluster;
mod group;
mod message;
pub mod options;
pub mod print;
mod topic;

use ferrocket_client::{Admin, ClientError, ClientOptions};
use options::{Opt, Parsed};

/// How a command ended badly.
#[derive(Debug)]
pub enum CommandError {
    /// Wrong arguments: the command's help follows the message.
    Usage(String),
    /// The servers refused or could not be reached.
    Failed(String),
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommandError::Usage(m) | CommandError::Failed(m) => f.write_str(m),
        }
    }
}

impl From<ClientError> for CommandError {
    fn from(e: ClientError) -> Self {
        CommandError::Failed(e.to_string())
    }
}

impl From<String> for CommandError {
    fn from(e: String) -> Self {
        CommandError::Usage(e)
    }
}

pub type CommandResult = Result<(), CommandError>;

/// One sub-command: its name, what it does, its options and its "exactly one of" groups.
#[derive(Debug)]
pub struct Command {
    pub name: &'static str,
    pub desc: &'static str,
    pub options: &'static [Opt],
    pub one_of: &'static [&'static [char]],
}

/// Every command, in the order `mqadmin` lists them.
pub const COMMANDS: &[Command] = &[
    topic::UPDATE_TOPIC,
    topic::DELETE_TOPIC,
    topic::TOPIC_LIST,
    topic::TOPIC_ROUTE,
    topic::TOPIC_STATUS,
    group::UPDATE_SUB_GROUP,
    group::DELETE_SUB_GROUP,
    group::CONSUMER_PROGRESS,
    group::CONSUMER_CONNECTION,
    group::RESET_OFFSET_BY_TIME,
    cluster::CLUSTER_LIST,
    cluster::BROKER_STATUS,
    cluster::GET_BROKER_CONFIG,
    cluster::UPDATE_BROKER_CONFIG,
    message::QUERY_MSG_BY_ID,
    message::QUERY_MSG_BY_KEY,
    message::QUERY_MSG_BY_UNIQUE_KEY,
    message::SEND_MESSAGE,
];

/// The top-level help: the commands and what they do.
pub fn usage() -> String {
    let mut out = String::from("The most commonly used mqadmin commands are:\n");
    for c in COMMANDS {
        out.push_str(&format!("   {:<25} {}\n", c.name, c.desc));
    }
    out.push_str("\nSee 'mqadmin help <command>' for more information on a specific command.\n");
    out
}

/// Runs `mqadmin` with `args` (without the program name), writing what it prints to `out`.
pub async fn run(args: &[String], out: &mut String) -> CommandResult {
    let Some((name, rest)) = args.split_first() else {
        out.push_str(&usage());
        return Ok(());
    };
    if name == "help" || name == "-h" || name == "--help" {
        match rest.first().and_then(|n| find(n)) {
            Some(c) => out.push_str(&options::help(c.name, c.options)),
            None => out.push_str(&usage()),
        }
        return Ok(());
    }
    let command = find(name)
        .ok_or_else(|| CommandError::Usage(format!("The sub command {name} not exist.")))?;
    let parsed = options::parse(rest, command.options, command.one_of)?;
    if parsed.has('h') {
        out.push_str(&options::help(command.name, command.options));
        return Ok(());
    }
    let admin = Admin::start(ClientOptions {
        namesrv_addr: parsed.get('n').map(str::to_owned),
        instance_name: Some(format!("mqadmin-{}", std::process::id())),
        ..Default::default()
    })
    .await?;
    let result = dispatch(command.name, &admin, &parsed, out).await;
    admin.shutdown().await;
    result
}

/// The brokers a `-b`/`-c` command acts on: the one given by `-b`, or every master of the
/// cluster given by `-c`.
async fn target_brokers(admin: &Admin, p: &Parsed) -> Result<Vec<String>, CommandError> {
    Ok(match p.get('b') {
        Some(addr) => vec![addr.to_owned()],
        None => admin.cluster_masters(p.req('c')).await?,
    })
}

pub fn find(name: &str) -> Option<&'static Command> {
    COMMANDS.iter().find(|c| c.name == name)
}

async fn dispatch(name: &str, admin: &Admin, p: &Parsed, out: &mut String) -> CommandResult {
    match name {
        "updateTopic" => topic::update_topic(admin, p, out).await,
        "deleteTopic" => topic::delete_topic(admin, p, out).await,
        "topicList" => topic::topic_list(admin, p, out).await,
        "topicRoute" => topic::topic_route(admin, p, out).await,
        "topicStatus" => topic::topic_status(admin, p, out).await,
        "updateSubGroup" => group::update_sub_group(admin, p, out).await,
        "deleteSubGroup" => group::delete_sub_group(admin, p, out).await,
        "consumerProgress" => group::consumer_progress(admin, p, out).await,
        "consumerConnection" => group::consumer_connection(admin, p, out).await,
        "resetOffsetByTime" => group::reset_offset_by_time(admin, p, out).await,
        "clusterList" => cluster::cluster_list(admin, out).await,
        "brokerStatus" => cluster::broker_status(admin, p, out).await,
        "getBrokerConfig" => cluster::get_broker_config(admin, p, out).await,
        "updateBrokerConfig" => cluster::update_broker_config(admin, p, out).await,
        "queryMsgById" => message::query_msg_by_id(admin, p, out).await,
        "queryMsgByKey" => message::query_msg_by_key(admin, p, out).await,
        "queryMsgByUniqueKey" => message::query_msg_by_unique_key(admin, p, out).await,
        "sendMessage" => message::send_message(p, out).await,
        other => Err(CommandError::Usage(format!(
            "The sub command {other} not exist."
        ))),
    }
}

/// `MQVersion.getVersionDesc`: the name of a version ordinal. From 4.0.0 to 5.9.9 the Java
/// enum has a SNAPSHOT and a release entry per version, starting at ordinal 212; 3.x
/// ordinals (under 212) are shown as numbers.
pub fn version_desc(ordinal: i32) -> String {
    const V4_0_0_SNAPSHOT: i32 = 212;
    const HIGHER_VERSION: i32 = 612;
    match ordinal {
        o if o >= HIGHER_VERSION => "HIGHER_VERSION".to_owned(),
        o if o >= V4_0_0_SNAPSHOT => {
            let n = o - V4_0_0_SNAPSHOT;
            let (major, rest) = (4 + n / 200, n % 200);
            let (minor, patch) = (rest / 20, rest % 20 / 2);
            let snapshot = if rest % 2 == 0 { "_SNAPSHOT" } else { "" };
            format!("V{major}_{minor}_{patch}{snapshot}")
        }
        o => o.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_names_match_java_ordinals() {
        assert_eq!(version_desc(212), "V4_0_0_SNAPSHOT");
        assert_eq!(version_desc(232), "V4_1_0_SNAPSHOT");
        assert_eq!(version_desc(401), "V4_9_4");
        assert_eq!(version_desc(409), "V4_9_8");
        assert_eq!(version_desc(411), "V4_9_9");
        assert_eq!(version_desc(412), "V5_0_0_SNAPSHOT");
        assert_eq!(version_desc(432), "V5_1_0_SNAPSHOT");
        assert_eq!(version_desc(611), "V5_9_9");
        assert_eq!(version_desc(612), "HIGHER_VERSION");
        assert_eq!(version_desc(37), "37");
    }

    #[test]
    fn every_command_is_listed_with_letters_of_its_own() {
        for c in COMMANDS {
            assert!(usage().contains(c.name));
            assert!(find(c.name).is_some());
            for o in c.options {
                assert!(
                    !options::COMMON.iter().any(|k| k.short == o.short),
                    "{} redefines -{}",
                    c.name,
                    o.short
                );
            }
        }
    }
}

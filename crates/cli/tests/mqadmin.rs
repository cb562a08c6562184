//! `mqadmin` against real `mqnamesrv` and `mqbroker` processes: each command does what it
//! says on the servers and prints Java's layout.

mod support;

use std::process::{Command, Output};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run_bin(bin: &str, args: &[&str]) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(bin)
        .args(args)
        .env_remove("NAMESRV_ADDR")
        .output()
        .unwrap();
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// Runs `mqadmin <args> -n <namesrv>` and returns its output, which must be a success.
fn admin(namesrv: &str, args: &[&str]) -> String {
    let mut all = args.to_vec();
    all.extend(["-n", namesrv]);
    let r = run_bin(env!("CARGO_BIN_EXE_mqadmin"), &all);
    assert_eq!(r.code, 0, "mqadmin {args:?}:\n{}\n{}", r.stdout, r.stderr);
    r.stdout
}

/// The value after `label` on its line (`Tags:                [TagA]`).
fn line_value<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label} in\n{text}"))
        .trim()
}

#[test]
fn admin_commands_against_real_servers() {
    let servers = support::Servers::start("mqadmin");
    let (ns, broker) = (servers.namesrv.as_str(), servers.broker.as_str());

    // Topics.
    let out = admin(
        ns,
        &[
            "updateTopic",
            "-c",
            "DefaultCluster",
            "-t",
            "AdminT",
            "-r",
            "4",
            "-w",
            "4",
        ],
    );
    assert_eq!(
        out,
        format!(
            "create topic to {broker} success.\nTopicConfig [topicName=AdminT, readQueueNums=4, writeQueueNums=4, perm=RW-, topicFilterType=SINGLE_TAG, topicSysFlag=0, order=false]"
        )
    );
    assert!(admin(ns, &["topicList"]).lines().any(|l| l == "AdminT"));
    let route = admin(ns, &["topicRoute", "-t", "AdminT"]);
    assert!(
        route.contains(&format!("\"brokerAddrs\":{{0:\"{broker}\"\n\t\t\t}}")),
        "{route}"
    );
    assert!(route.contains("\t\t\t\"readQueueNums\":4,\n"), "{route}");
    let listed = admin(ns, &["topicRoute", "-t", "AdminT", "-l"]);
    let total = listed.lines().last().unwrap();
    assert_eq!(
        total.split_whitespace().collect::<Vec<_>>(),
        ["Total:", "1", "4", "4"],
        "{listed}"
    );

    // A message in, then found by key, by unique key and by offset id.
    let sent = admin(
        ns,
        &[
            "sendMessage",
            "-t",
            "AdminT",
            "-p",
            "hello admin",
            "-k",
            "order-17",
            "-c",
            "TagA",
        ],
    );
    let row: Vec<&str> = sent.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row[2], "SEND_OK", "{sent}");
    let (queue, msg_id) = (row[1], row[3]);
    let status = admin(ns, &["topicStatus", "-t", "AdminT"]);
    let max_offsets: Vec<(String, String)> = status
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[1].to_owned(), f[3].to_owned())
        })
        .collect();
    assert_eq!(max_offsets.len(), 4, "{status}");
    for (qid, max) in &max_offsets {
        assert_eq!(max, if qid == queue { "1" } else { "0" }, "{status}");
    }
    let by_key = admin(ns, &["queryMsgByKey", "-t", "AdminT", "-k", "order-17"]);
    let found: Vec<&str> = by_key.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(found, [msg_id, queue, "0"], "{by_key}");
    let by_unique = admin(ns, &["queryMsgByUniqueKey", "-t", "AdminT", "-i", msg_id]);
    assert_eq!(line_value(&by_unique, "Tags:"), "[TagA]");
    assert_eq!(line_value(&by_unique, "Keys:"), "[order-17]");
    assert_eq!(line_value(&by_unique, "Store Host:"), broker);
    assert!(by_unique.contains("WARN: No Consumer"), "{by_unique}");
    let body_path = line_value(&by_unique, "Message Body Path:");
    assert_eq!(std::fs::read_to_string(body_path).unwrap(), "hello admin");
    let offset_id = ferrocket_common::message_id::OffsetMessageId::new(
        broker.parse().unwrap(),
        line_value(&by_unique, "CommitLog Offset:").parse().unwrap(),
    )
    .encode();
    let by_id = admin(ns, &["queryMsgById", "-i", &offset_id]);
    assert_eq!(line_value(&by_id, "OffsetID:"), offset_id);
    assert_eq!(line_value(&by_id, "Queue ID:"), queue);

    // A group consumes it, goes offline, and is reset back to the start.
    let out = admin(
        ns,
        &[
            "updateSubGroup",
            "-c",
            "DefaultCluster",
            "-g",
            "AdminG",
            "-r",
            "3",
        ],
    );
    assert!(out.starts_with(&format!("create subscription group to {broker} success.\n")));
    assert!(out.contains("groupName=AdminG,") && out.contains("retryMaxTimes=3,"));
    let consumed = run_bin(
        env!("CARGO_BIN_EXE_mqbench"),
        &[
            "consume",
            "--namesrv",
            ns,
            "--topic",
            "AdminT",
            "--group",
            "AdminG",
            "--from",
            "first",
            "--count",
            "1",
            "--duration",
            "30",
        ],
    );
    assert_eq!(consumed.code, 0, "{}{}", consumed.stdout, consumed.stderr);
    let progress = admin(ns, &["consumerProgress", "-g", "AdminG"]);
    assert!(progress.contains("\nDiff Total: 0\n"), "{progress}");
    let reset = admin(
        ns,
        &[
            "resetOffsetByTime",
            "-g",
            "AdminG",
            "-t",
            "AdminT",
            "-s",
            "0",
        ],
    );
    // No consumer is online, so the offsets were written directly (Java's old path).
    assert!(
        reset.starts_with("rollback consumer offset by specified consumerGroup[AdminG], topic[AdminT], force[true], timestamp(string)[0], timestamp(long)[0]\n"),
        "{reset}"
    );
    let row = reset
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f[1] == queue)
        .unwrap();
    assert_eq!(row[2..], ["1", "1", "0", "0"], "{reset}");
    let progress = admin(ns, &["consumerProgress", "-g", "AdminG"]);
    assert!(progress.contains("\nDiff Total: 1\n"), "{progress}");
    let groups = admin(ns, &["consumerProgress"]);
    let line = groups.lines().find(|l| l.starts_with("AdminG ")).unwrap();
    assert_eq!(
        line.split_whitespace().collect::<Vec<_>>(),
        ["AdminG", "0", "OFFLINE", "0", "1"],
        "{groups}"
    );

    // Cluster and broker.
    let clusters = admin(ns, &["clusterList"]);
    let row: Vec<&str> = clusters
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        row[..5],
        ["DefaultCluster", "broker-a", "0", broker, "V4_9_8"]
    );
    let status = admin(ns, &["brokerStatus", "-b", broker]);
    assert_eq!(line_value(&status, "brokerVersionDesc"), ": V4_9_8");
    let out = admin(
        ns,
        &[
            "updateBrokerConfig",
            "-c",
            "DefaultCluster",
            "-k",
            "maxMessageSize",
            "-v",
            "1048576",
        ],
    );
    assert_eq!(out, format!("update broker config success, {broker}\n"));
    let config = admin(ns, &["getBrokerConfig", "-b", broker]);
    assert!(config.starts_with(&format!("============{broker}============\n")));
    assert_eq!(line_value(&config, "maxMessageSize"), "=  1048576");

    // Clean up, and what is gone is gone.
    let out = admin(
        ns,
        &["deleteSubGroup", "-c", "DefaultCluster", "-g", "AdminG"],
    );
    assert!(out.starts_with(&format!(
        "delete subscription group [AdminG] from broker [{broker}] in cluster [DefaultCluster] success.\n"
    )));
    let out = admin(ns, &["deleteTopic", "-c", "DefaultCluster", "-t", "AdminT"]);
    assert_eq!(
        out,
        "delete topic [AdminT] from cluster [DefaultCluster] success.\ndelete topic [AdminT] from NameServer success.\n"
    );
    assert!(!admin(ns, &["topicList"]).lines().any(|l| l == "AdminT"));
}

#[test]
fn usage_errors_name_what_is_wrong() {
    let bin = env!("CARGO_BIN_EXE_mqadmin");
    let listed = run_bin(bin, &[]);
    assert_eq!(listed.code, 0);
    assert!(
        listed.stdout.contains("   updateTopic "),
        "{}",
        listed.stdout
    );
    let help = run_bin(bin, &["help", "resetOffsetByTime"]);
    assert!(help.stdout.starts_with("usage: mqadmin resetOffsetByTime"));
    let r = run_bin(bin, &["updateTopic", "-t", "T"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("one of -b, -c"), "{}", r.stderr);
    assert!(
        r.stderr.contains("usage: mqadmin updateTopic"),
        "{}",
        r.stderr
    );
    let r = run_bin(bin, &["noSuchCommand"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("noSuchCommand"), "{}", r.stderr);
    // No -n and no NAMESRV_ADDR: refused before anything is sent.
    let r = run_bin(bin, &["topicList"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("NAMESRV_ADDR"), "{}", r.stderr);
}

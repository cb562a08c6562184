//! Cluster and broker commands: clusterList, brokerStatus, getBrokerConfig,
//! updateBrokerConfig.

use super::options::{Opt, Parsed};
use super::{Command, CommandResult};
use ferrocket_client::Admin;
use ferrocket_common::java_format::fixed;
use ferrocket_common::time::now_ms;
use std::fmt::Write as _;

pub const CLUSTER_LIST: Command = Command {
    name: "clusterList",
    desc: "List all of clusters",
    options: &[],
    one_of: &[],
};

/// The first number of a `putTps`-style value (`"12.5 10.0 9.8"`).
fn first_number(value: Option<&String>) -> f64 {
    value
        .and_then(|v| v.split(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

pub async fn cluster_list(admin: &Admin, out: &mut String) -> CommandResult {
    let info = admin.cluster_info().await?;
    let row = |out: &mut String, c: [&str; 10]| {
        let _ = writeln!(
            out,
            "{:<16}  {:<22}  {:<4}  {:<22} {:<16} {:>19} {:>19} {:>10} {:>5} {:>6}",
            c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9]
        );
    };
    row(
        out,
        [
            "#Cluster Name",
            "#Broker Name",
            "#BID",
            "#Addr",
            "#Version",
            "#InTPS(LOAD)",
            "#OutTPS(LOAD)",
            "#PCWait(ms)",
            "#Hour",
            "#SPACE",
        ],
    );
    for (cluster, names) in &info.cluster_addr_table {
        let mut names = names.clone();
        names.sort();
        for name in names {
            let Some(broker) = info.broker_addr_table.get(&name) else {
                continue;
            };
            for (id, addr) in &broker.broker_addrs {
                // A broker that does not answer is listed with empty figures, as in Java.
                let table = admin
                    .broker_runtime_info(addr)
                    .await
                    .map(|kv| kv.table)
                    .unwrap_or_default();
                let get = |k: &str| table.get(k).cloned().unwrap_or_default();
                let hour = table
                    .get("earliestMessageTimeStamp")
                    .and_then(|t| t.parse::<i64>().ok())
                    .map_or(0.0, |t| (now_ms() - t) as f64 / 3_600_000.0);
                let space: f64 = get("commitLogDiskRatio").parse().unwrap_or(0.0);
                row(
                    out,
                    [
                        cluster,
                        &name,
                        &id.to_string(),
                        addr,
                        &get("brokerVersionDesc"),
                        &format!(
                            "{:>9}({},{}ms)",
                            fixed(first_number(table.get("putTps")), 2),
                            get("sendThreadPoolQueueSize"),
                            get("sendThreadPoolQueueHeadWaitTimeMills")
                        ),
                        &format!(
                            "{:>9}({},{}ms)",
                            fixed(first_number(table.get("getTransferedTps")), 2),
                            get("pullThreadPoolQueueSize"),
                            get("pullThreadPoolQueueHeadWaitTimeMills")
                        ),
                        &get("pageCacheLockTimeMills"),
                        // Java's %.2f rounds half up from the shortest decimal form.
                        &format!("{:>2}", fixed(hour, 2)),
                        &fixed(space, 4),
                    ],
                );
            }
        }
    }
    Ok(())
}

pub const GET_BROKER_CONFIG: Command = Command {
    name: "getBrokerConfig",
    desc: "Get broker config by cluster or special broker!",
    options: &[
        Opt::arg('b', "brokerAddr", "get which broker"),
        Opt::arg('c', "clusterName", "get which cluster"),
    ],
    one_of: &[&['b', 'c']],
};

pub async fn get_broker_config(admin: &Admin, p: &Parsed, out: &mut String) -> CommandResult {
    if let Some(addr) = p.get('b') {
        return print_config(
            admin,
            &format!("============{addr}============\n"),
            addr,
            out,
        )
        .await;
    }
    let info = admin.cluster_info().await?;
    let mut names = info
        .cluster_addr_table
        .get(p.req('c'))
        .cloned()
        .unwrap_or_default();
    names.sort();
    for broker in names.iter().filter_map(|n| info.broker_addr_table.get(n)) {
        let Some(master) = broker.master_addr() else {
            continue;
        };
        print_config(
            admin,
            &format!("============Master: {master}============\n"),
            master,
            out,
        )
        .await?;
        for (_, slave) in broker.broker_addrs.range(1..) {
            let title = format!("============My Master: {master}=====Slave: {slave}============\n");
            print_config(admin, &title, slave, out).await?;
        }
    }
    Ok(())
}

async fn print_config(admin: &Admin, title: &str, addr: &str, out: &mut String) -> CommandResult {
    out.push_str(title);
    for (key, value) in admin.broker_config(addr).await? {
        let _ = writeln!(out, "{key:<50}=  {value}");
    }
    out.push('\n');
    Ok(())
}

pub const UPDATE_BROKER_CONFIG: Command = Command {
    name: "updateBrokerConfig",
    desc: "Update broker's config",
    options: &[
        Opt::arg('b', "brokerAddr", "update which broker"),
        Opt::arg('c', "clusterName", "update which cluster"),
        Opt::required('k', "key", "config key"),
        Opt::required('v', "value", "config value"),
    ],
    one_of: &[&['b', 'c']],
};

pub async fn update_broker_config(admin: &Admin, p: &Parsed, out: &mut String) -> CommandResult {
    for addr in super::target_brokers(admin, p).await? {
        admin
            .update_broker_config(&addr, p.req('k'), p.req('v'))
            .await?;
        let _ = writeln!(out, "update broker config success, {addr}");
    }
    Ok(())
}

pub const BROKER_STATUS: Command = Command {
    name: "brokerStatus",
    desc: "Fetch broker runtime status data",
    options: &[
        Opt::arg('b', "brokerAddr", "Broker address"),
        Opt::arg('c', "clusterName", "which cluster"),
    ],
    one_of: &[&['b', 'c']],
};

pub async fn broker_status(admin: &Admin, p: &Parsed, out: &mut String) -> CommandResult {
    if let Some(addr) = p.get('b') {
        // KVTable's map is sorted by key, as the TreeMap Java copies it into.
        for (key, value) in admin.broker_runtime_info(addr).await?.table {
            let _ = writeln!(out, "{key:<32}: {value}");
        }
        return Ok(());
    }
    let info = admin.cluster_info().await?;
    let mut addrs: Vec<String> = info
        .cluster_addr_table
        .get(p.req('c'))
        .into_iter()
        .flatten()
        .filter_map(|name| info.broker_addr_table.get(name))
        .flat_map(|b| b.broker_addrs.values().cloned())
        .collect();
    addrs.sort();
    for addr in addrs {
        match admin.broker_runtime_info(&addr).await {
            Ok(kv) => {
                for (key, value) in kv.table {
                    let _ = writeln!(out, "{addr:<24} {key:<32}: {value}");
                }
            }
            Err(e) => {
                let _ = writeln!(out, "{addr:<24} failed: {e}");
            }
        }
    }
    Ok(())
}

//! [`ClusterNode`]: one line of `CLUSTER NODES`, the cluster's view of a node (role, failure
//! flags, master, slots), which [`super::RedisCluster`] reads to find masters and replicas.

/// One node as the cluster sees it (a line of `CLUSTER NODES`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterNode {
    /// Client port on 127.0.0.1.
    pub port: u16,
    /// The cluster's id of the node.
    pub id: String,
    /// Whether it is a master (a failed master stays one, without slots once replaced).
    pub master: bool,
    /// Flagged `fail` (agreed down) or `fail?` (suspected by the node asked).
    pub failed: bool,
    /// The id of its master, for a replica.
    pub master_id: Option<String>,
    /// Slot ranges it serves, inclusive.
    pub slots: Vec<(u16, u16)>,
}

/// Parses `CLUSTER NODES`: `<id> <ip:port@bus[,host]> <flags> <master-id|-> <ping> <pong>
/// <epoch> <link> <slot ranges...>`; migrating/importing entries (`[...]`) are skipped.
pub(super) fn parse_nodes(text: &str) -> Vec<ClusterNode> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (id, address, flags, master_id) = (
                fields.first()?,
                fields.get(1)?,
                fields.get(2)?,
                fields.get(3)?,
            );
            let port = address
                .split('@')
                .next()?
                .rsplit(':')
                .next()?
                .parse()
                .ok()?;
            let flags: Vec<&str> = flags.split(',').collect();
            let slots = fields
                .iter()
                .skip(8)
                .filter(|range| !range.starts_with('['))
                .filter_map(|range| match range.split_once('-') {
                    Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
                    None => range.parse().ok().map(|slot| (slot, slot)),
                })
                .collect();
            Some(ClusterNode {
                port,
                id: (*id).to_owned(),
                master: flags.contains(&"master"),
                failed: flags.contains(&"fail") || flags.contains(&"fail?"),
                master_id: (*master_id != "-").then(|| (*master_id).to_owned()),
                slots,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cluster_nodes_with_failed_masters_and_replicas() {
        let text = "\
a1 127.0.0.1:7001@17001 myself,master - 0 0 1 connected 0-5460
b2 127.0.0.1:7002@17002,host master,fail - 1 1 2 disconnected
c3 127.0.0.1:7003@17003 slave a1 0 1 1 connected
d4 127.0.0.1:7004@17004 master - 0 1 3 connected 5461-10922 16000 [16001->-a1]
";
        let nodes = parse_nodes(text);
        assert_eq!(nodes.len(), 4);
        assert_eq!(nodes[0].port, 7001);
        assert!(nodes[0].master && !nodes[0].failed);
        assert_eq!(nodes[0].slots, vec![(0, 5460)]);
        assert!(nodes[1].master && nodes[1].failed && nodes[1].slots.is_empty());
        assert_eq!(nodes[2].master_id.as_deref(), Some("a1"));
        assert!(!nodes[2].master);
        assert_eq!(nodes[3].slots, vec![(5461, 10922), (16000, 16000)]);
    }
}

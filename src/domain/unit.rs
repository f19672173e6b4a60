//! The unit tree of an instansi as HR reads it: the one label that tells same-name units
//! apart (`Dinas Kesehatan › Sekretariat`), the tree order with depths for pickers, and
//! the subtree a set of target units covers (a target unit includes its sub-units).

use std::collections::{HashMap, HashSet};

/// Between a parent's name and its child's in a unit label.
pub const SEPARATOR: &str = " › ";

#[derive(Clone, Debug)]
struct Node {
    name: String,
    parent_id: Option<i64>,
}

/// An instansi's units by id. The input is data, not a proven tree: a parent that is not
/// among the units is ignored, and a cycle of parents is cut where a walk first meets it.
#[derive(Clone, Debug, Default)]
pub struct UnitTree {
    nodes: HashMap<i64, Node>,
    children: HashMap<i64, Vec<i64>>,
    roots: Vec<i64>,
}

/// One unit in tree order, for a picker or a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitLine {
    pub id: i64,
    pub name: String,
    pub depth: usize,
    /// The unit with its parent, as [`UnitTree::label`] writes it.
    pub label: String,
}

impl UnitTree {
    /// Builds the tree from `(id, name, parent_id)`.
    pub fn new(units: impl IntoIterator<Item = (i64, String, Option<i64>)>) -> UnitTree {
        let nodes: HashMap<i64, Node> = units
            .into_iter()
            .map(|(id, name, parent_id)| (id, Node { name, parent_id }))
            .collect();
        let mut children: HashMap<i64, Vec<i64>> = HashMap::new();
        let mut roots = Vec::new();
        for (&id, n) in &nodes {
            match n.parent_id.filter(|p| *p != id && nodes.contains_key(p)) {
                Some(p) => children.entry(p).or_default().push(id),
                None => roots.push(id),
            }
        }
        let by_name = |a: &i64, b: &i64| nodes[a].name.cmp(&nodes[b].name).then(a.cmp(b));
        roots.sort_by(by_name);
        for list in children.values_mut() {
            list.sort_by(by_name);
        }
        UnitTree {
            nodes,
            children,
            roots,
        }
    }

    pub fn contains(&self, id: i64) -> bool {
        self.nodes.contains_key(&id)
    }

    /// A unit's name with its parent's in front (`Dinas Kesehatan › Sekretariat`), so two
    /// units of the same name under different parents read differently; a top-level unit
    /// is its name alone. An unknown id gives an empty label.
    pub fn label(&self, id: i64) -> String {
        let Some(n) = self.nodes.get(&id) else {
            return String::new();
        };
        match n
            .parent_id
            .filter(|p| *p != id)
            .and_then(|p| self.nodes.get(&p))
        {
            Some(parent) => format!("{}{SEPARATOR}{}", parent.name, n.name),
            None => n.name.clone(),
        }
    }

    /// Every unit, parents before children, siblings by name, with its depth.
    pub fn lines(&self) -> Vec<UnitLine> {
        let mut out = Vec::with_capacity(self.nodes.len());
        let mut seen = HashSet::new();
        // Units on a cycle are reached from no root; each then starts a walk of its own.
        let mut rest: Vec<i64> = self.nodes.keys().copied().collect();
        rest.sort_by(|a, b| self.nodes[a].name.cmp(&self.nodes[b].name).then(a.cmp(b)));
        for start in self.roots.iter().copied().chain(rest) {
            let mut stack = vec![(start, 0usize)];
            while let Some((id, depth)) = stack.pop() {
                if !seen.insert(id) {
                    continue;
                }
                out.push(UnitLine {
                    id,
                    name: self.nodes[&id].name.clone(),
                    depth,
                    label: self.label(id),
                });
                if let Some(kids) = self.children.get(&id) {
                    stack.extend(kids.iter().rev().map(|&k| (k, depth + 1)));
                }
            }
        }
        out
    }

    /// The units `targets` cover: each with its whole subtree. No targets cover every unit
    /// (a campaign without target units is for the whole instansi).
    pub fn covered(&self, targets: &[i64]) -> HashSet<i64> {
        if targets.is_empty() {
            return self.nodes.keys().copied().collect();
        }
        let mut out = HashSet::new();
        let mut stack: Vec<i64> = targets
            .iter()
            .copied()
            .filter(|t| self.contains(*t))
            .collect();
        while let Some(id) = stack.pop() {
            if out.insert(id)
                && let Some(kids) = self.children.get(&id)
            {
                stack.extend(kids);
            }
        }
        out
    }

    /// How many staff `targets` reach, given the active staff per unit (not rolled up).
    pub fn target_count(&self, targets: &[i64], staff: &HashMap<i64, u64>) -> u64 {
        self.covered(targets)
            .iter()
            .map(|u| staff.get(u).copied().unwrap_or(0))
            .sum()
    }

    /// Each unit's staff with its whole subtree's, given the staff per unit.
    pub fn rolled_up(&self, staff: &HashMap<i64, u64>) -> HashMap<i64, u64> {
        self.nodes
            .keys()
            .map(|&id| (id, self.target_count(&[id], staff)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> UnitTree {
        UnitTree::new([
            (1, "Dinas Kesehatan".to_string(), None),
            (2, "Sekretariat".to_string(), Some(1)),
            (3, "Dinas Pendidikan".to_string(), None),
            (4, "Sekretariat".to_string(), Some(3)),
            (5, "Subbagian Umum".to_string(), Some(4)),
        ])
    }

    #[test]
    fn same_name_units_are_told_apart_by_their_parent() {
        let t = tree();
        assert_eq!(t.label(2), "Dinas Kesehatan › Sekretariat");
        assert_eq!(t.label(4), "Dinas Pendidikan › Sekretariat");
        assert_eq!(t.label(1), "Dinas Kesehatan");
        assert_eq!(t.label(5), "Sekretariat › Subbagian Umum");
        assert_eq!(t.label(99), "");
    }

    #[test]
    fn lines_put_parents_first_with_depths() {
        let lines = tree().lines();
        let order: Vec<(i64, usize)> = lines.iter().map(|l| (l.id, l.depth)).collect();
        assert_eq!(order, [(1, 0), (2, 1), (3, 0), (4, 1), (5, 2)]);
    }

    #[test]
    fn a_target_unit_covers_its_subtree_and_none_covers_all() {
        let t = tree();
        let staff: HashMap<i64, u64> = [(1, 10), (2, 3), (3, 7), (4, 2), (5, 1)].into();
        assert_eq!(t.target_count(&[3], &staff), 10);
        assert_eq!(t.target_count(&[2, 4], &staff), 6);
        assert_eq!(t.target_count(&[], &staff), 23);
        assert_eq!(t.target_count(&[4, 5], &staff), 3, "a unit is counted once");
        assert_eq!(t.rolled_up(&staff)[&1], 13);
    }

    #[test]
    fn a_cycle_of_parents_still_lists_every_unit_once() {
        let t = UnitTree::new([(1, "A".to_string(), Some(2)), (2, "B".to_string(), Some(1))]);
        assert_eq!(t.lines().len(), 2);
        assert_eq!(t.covered(&[1]).len(), 2);
    }
}

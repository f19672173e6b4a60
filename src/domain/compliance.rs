//! A campaign's compliance (SPEC 4.1): per unit, how many of the target staff have signed,
//! rolled up over the unit tree. Pure: the caller brings the direct counts.

use std::collections::HashMap;

/// One unit's own counts, before the roll-up: its target staff and how many signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectCount {
    pub id: i64,
    pub name: String,
    pub parent_id: Option<i64>,
    pub target: u64,
    pub signed: u64,
}

/// One unit's line of the report. Counts are already rolled up: a parent counts its
/// whole subtree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitCompliance {
    pub id: i64,
    pub name: String,
    pub parent_id: Option<i64>,
    pub target: u64,
    pub signed: u64,
}

/// The report's header and per-unit lines, in tree order (see [`roll_up`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compliance {
    pub campaign_id: i64,
    pub campaign_title: String,
    /// `code@version`.
    pub template: String,
    pub total_target: u64,
    pub total_signed: u64,
    pub units: Vec<UnitCompliance>,
}

/// The share of `target` that signed, as a fraction (1.0 is everyone); 0 when there is no
/// target, so that an empty unit reads as "nothing to do" rather than as an error.
pub fn rate(signed: u64, target: u64) -> f64 {
    if target == 0 {
        0.0
    } else {
        signed as f64 / target as f64
    }
}

/// Rolls up per-unit direct counts over the unit tree; the output is rolled-up rows in a stable tree order (parents
/// before children, siblings by name, then id).
///
/// A unit whose parent is not in the input is a root, and its `parent_id` in the output is
/// `None`, so that the output is a tree on its own. The input is data, not a proven tree:
/// a cycle of parents is cut where the walk first meets it, and every unit is counted once.
pub fn roll_up(units: &[DirectCount]) -> Vec<UnitCompliance> {
    let position: HashMap<i64, usize> = units.iter().enumerate().map(|(i, u)| (u.id, i)).collect();
    let by_name = |a: &usize, b: &usize| {
        let (a, b) = (&units[*a], &units[*b]);
        a.name.cmp(&b.name).then(a.id.cmp(&b.id))
    };
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); units.len()];
    let mut roots = Vec::new();
    for (i, unit) in units.iter().enumerate() {
        match unit.parent_id.and_then(|p| position.get(&p)) {
            Some(&p) if p != i => children[p].push(i),
            _ => roots.push(i),
        }
    }
    roots.sort_by(by_name);
    for list in &mut children {
        list.sort_by(by_name);
    }
    // Units left unvisited after the roots sit on a cycle; each then starts a walk of its own.
    let mut rest: Vec<usize> = (0..units.len()).collect();
    rest.sort_by(by_name);

    // Depth-first, pre-order, without recursion: a unit tree's depth is the data's to choose.
    let mut order = Vec::with_capacity(units.len());
    let mut walk_parent: Vec<Option<usize>> = vec![None; units.len()];
    let mut visited = vec![false; units.len()];
    let mut stack: Vec<(usize, Option<usize>)> = Vec::new();
    for start in roots.into_iter().chain(rest) {
        stack.push((start, None));
        while let Some((i, parent)) = stack.pop() {
            if visited[i] {
                continue;
            }
            visited[i] = true;
            walk_parent[i] = parent;
            order.push(i);
            stack.extend(children[i].iter().rev().map(|&c| (c, Some(i))));
        }
    }

    // Children follow their parent in `order`, so walking it backwards completes each
    // subtree before its parent takes the sums.
    let mut totals: Vec<(u64, u64)> = units.iter().map(|u| (u.target, u.signed)).collect();
    for &i in order.iter().rev() {
        if let Some(p) = walk_parent[i] {
            totals[p].0 += totals[i].0;
            totals[p].1 += totals[i].1;
        }
    }
    order
        .into_iter()
        .map(|i| UnitCompliance {
            id: units[i].id,
            name: units[i].name.clone(),
            parent_id: walk_parent[i].map(|p| units[p].id),
            target: totals[i].0,
            signed: totals[i].1,
        })
        .collect()
}

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

/// Units with fewer target staff than this are never shown alone on a public count (SPEC
/// 6): a unit of one person would tell the hall whether that person has signed.
pub const MIN_PUBLIC_UNIT: u64 = 5;

/// A line of a public count: a unit, or the pool of units too small to show alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicGroup<'a> {
    Unit(&'a UnitCompliance),
    /// Units pooled together: how many, and their summed counts.
    Others {
        units: usize,
        target: u64,
        signed: u64,
    },
}

/// Groups units (e.g. the top-level ones) for a public count. Each unit with at least
/// [`MIN_PUBLIC_UNIT`] target staff is shown alone, in the order given; the smaller ones
/// are pooled into one last group. If that pool would still be smaller than the minimum,
/// the smallest shown units join it until it is not (or nothing is left to join), so no
/// group smaller than the minimum is shown, nor can one be derived by subtracting the
/// shown groups from the total. Units without target staff are left out.
pub fn public_groups<'a>(units: &[&'a UnitCompliance]) -> Vec<PublicGroup<'a>> {
    let (mut shown, mut pooled): (Vec<&UnitCompliance>, Vec<&UnitCompliance>) = units
        .iter()
        .copied()
        .filter(|u| u.target > 0)
        .partition(|u| u.target >= MIN_PUBLIC_UNIT);
    let target = |p: &[&UnitCompliance]| p.iter().map(|u| u.target).sum::<u64>();
    while !pooled.is_empty() && target(&pooled) < MIN_PUBLIC_UNIT {
        // The smallest shown unit; the later one of equal size, so the first stay in place.
        let Some(smallest) = shown
            .iter()
            .enumerate()
            .min_by_key(|&(i, u)| (u.target, std::cmp::Reverse(i)))
            .map(|(i, _)| i)
        else {
            break;
        };
        pooled.push(shown.remove(smallest));
    }
    let mut groups: Vec<PublicGroup<'a>> = shown.into_iter().map(PublicGroup::Unit).collect();
    if !pooled.is_empty() {
        groups.push(PublicGroup::Others {
            units: pooled.len(),
            target: target(&pooled),
            signed: pooled.iter().map(|u| u.signed).sum(),
        });
    }
    groups
}

/// One line of the public transparency page: a unit (or a pool of small ones) at its depth
/// in the unit tree, with its counts rolled up over its subtree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicLine {
    pub depth: usize,
    pub name: String,
    pub target: u64,
    pub signed: u64,
}

/// The public tree of a report (SPEC 4.3): at every level, the children of a shown unit —
/// with the unit's own staff as one more child, "(langsung)" — are grouped by
/// [`public_groups`], so no line, and no difference between a line and its children,
/// counts fewer than [`MIN_PUBLIC_UNIT`] people; pooled units are not opened further.
/// Counts only, never a name of a person.
pub fn public_tree(report: &Compliance) -> Vec<PublicLine> {
    let mut out = Vec::new();
    public_level(&report.units, None, 0, &mut out);
    out
}

fn public_level(
    units: &[UnitCompliance],
    parent: Option<&UnitCompliance>,
    depth: usize,
    out: &mut Vec<PublicLine>,
) {
    let parent_id = parent.map(|p| p.id);
    let children: Vec<&UnitCompliance> =
        units.iter().filter(|u| u.parent_id == parent_id).collect();
    if children.is_empty() {
        return;
    }
    // The parent's own staff, outside every child: a child like the others, so that it is
    // pooled when small instead of being derivable as parent minus children.
    let own = parent.map(|p| UnitCompliance {
        id: OWN_STAFF,
        name: format!("{} (langsung)", p.name),
        parent_id,
        target: p
            .target
            .saturating_sub(children.iter().map(|c| c.target).sum::<u64>()),
        signed: p
            .signed
            .saturating_sub(children.iter().map(|c| c.signed).sum::<u64>()),
    });
    let mut members = children.clone();
    if let Some(own) = &own {
        members.insert(0, own);
    }
    for group in public_groups(&members) {
        match group {
            PublicGroup::Unit(u) => {
                out.push(PublicLine {
                    depth,
                    name: u.name.clone(),
                    target: u.target,
                    signed: u.signed,
                });
                if u.id != OWN_STAFF {
                    public_level(units, Some(u), depth + 1, out);
                }
            }
            PublicGroup::Others {
                units: n,
                target,
                signed,
            } => out.push(PublicLine {
                depth,
                name: format!("Unit lainnya ({n} unit)"),
                target,
                signed,
            }),
        }
    }
}

/// The id of the "own staff" pseudo-unit in [`public_tree`]; unit ids start at 1.
const OWN_STAFF: i64 = -1;

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(id: i64, target: u64, signed: u64) -> UnitCompliance {
        UnitCompliance {
            id,
            name: format!("Unit {id}"),
            parent_id: None,
            target,
            signed,
        }
    }

    #[test]
    fn the_public_tree_pools_small_units_and_a_units_own_small_staff() {
        let line = |depth: usize, name: &str, target: u64, signed: u64| PublicLine {
            depth,
            name: name.to_string(),
            target,
            signed,
        };
        let report = |inspektorat: u64| Compliance {
            campaign_id: 1,
            campaign_title: "K".into(),
            template: "t@1".into(),
            total_target: 25 + inspektorat,
            total_signed: 12,
            units: vec![
                // Rolled up: 3 of its own, Sekretariat's 20, Puskesmas's 2.
                UnitCompliance {
                    id: 1,
                    name: "Dinas Kesehatan".into(),
                    parent_id: None,
                    target: 25,
                    signed: 12,
                },
                UnitCompliance {
                    id: 2,
                    name: "Sekretariat".into(),
                    parent_id: Some(1),
                    target: 20,
                    signed: 10,
                },
                UnitCompliance {
                    id: 3,
                    name: "Puskesmas".into(),
                    parent_id: Some(1),
                    target: 2,
                    signed: 1,
                },
                UnitCompliance {
                    id: 4,
                    name: "Inspektorat".into(),
                    parent_id: None,
                    target: inspektorat,
                    signed: 0,
                },
            ],
        };
        assert_eq!(
            public_tree(&report(10)),
            vec![
                line(0, "Dinas Kesehatan", 25, 12),
                line(1, "Sekretariat", 20, 10),
                // Puskesmas (2) and the Dinas's own 3 staff, never alone.
                line(1, "Unit lainnya (2 unit)", 5, 2),
                line(0, "Inspektorat", 10, 0),
            ]
        );
        // An Inspektorat of 3 cannot be shown, nor be derived from the total: it is pooled
        // with the smallest shown unit, and a pool is not opened.
        assert_eq!(
            public_tree(&report(3)),
            vec![line(0, "Unit lainnya (2 unit)", 28, 12)]
        );
    }

    fn groups(units: &[UnitCompliance]) -> Vec<PublicGroup<'_>> {
        let refs: Vec<&UnitCompliance> = units.iter().collect();
        public_groups(&refs)
    }

    #[test]
    fn small_units_are_pooled_and_a_small_pool_takes_the_smallest_unit() {
        let units = [
            unit(1, 10, 4),
            unit(2, 1, 1),
            unit(3, 0, 0),
            unit(4, 3, 0),
            unit(5, 6, 6),
        ];
        // Units 2 and 4 pool to 4 staff, still too few: unit 5 (6 staff) joins them.
        assert_eq!(
            groups(&units),
            vec![
                PublicGroup::Unit(&units[0]),
                PublicGroup::Others {
                    units: 3,
                    target: 10,
                    signed: 7
                }
            ]
        );
    }

    #[test]
    fn a_pool_of_five_is_shown_as_it_is() {
        let units = [unit(1, 8, 1), unit(2, 2, 1), unit(3, 3, 3)];
        assert_eq!(
            groups(&units),
            vec![
                PublicGroup::Unit(&units[0]),
                PublicGroup::Others {
                    units: 2,
                    target: 5,
                    signed: 4
                }
            ]
        );
    }

    #[test]
    fn every_unit_is_shown_when_none_is_small() {
        let units = [unit(1, 5, 0), unit(2, 7, 7)];
        assert_eq!(
            groups(&units),
            vec![PublicGroup::Unit(&units[0]), PublicGroup::Unit(&units[1])]
        );
    }

    #[test]
    fn everything_is_pooled_when_all_are_small() {
        let units = [unit(1, 1, 1), unit(2, 2, 0)];
        assert_eq!(
            groups(&units),
            vec![PublicGroup::Others {
                units: 2,
                target: 3,
                signed: 1
            }]
        );
    }

    proptest::proptest! {
        #[test]
        fn no_group_is_small_unless_it_is_everything(
            counts in proptest::collection::vec((0u64..12, 0u64..12), 0..12)
        ) {
            let units: Vec<UnitCompliance> = counts
                .iter()
                .zip(0..)
                .map(|(&(t, s), id)| unit(id, t, s.min(t)))
                .collect();
            let groups = groups(&units);
            let total: u64 = units.iter().map(|u| u.target).sum();
            let mut sum = 0;
            for g in &groups {
                let t = match g {
                    PublicGroup::Unit(u) => u.target,
                    PublicGroup::Others { target, .. } => *target,
                };
                sum += t;
                proptest::prop_assert!(t >= MIN_PUBLIC_UNIT || (groups.len() == 1 && t == total));
            }
            proptest::prop_assert_eq!(sum, total);
        }
    }
}

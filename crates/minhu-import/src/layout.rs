//! The known column layouts, their detection from a header row, and the map
//! from the fields of [`crate::ImportRow`] to column positions.
//!
//! Header names are compared after normalisation: only letters and digits are
//! kept (any script), lowercased. So `Created Date`, `created_date` and
//! `CREATED-DATE` are the same column, and so are `信息 来源` and `信息来源`. A
//! UTF-8 byte-order mark or stray spaces around a name do not matter. Columns
//! may come in any order; unknown columns are ignored; when a name repeats the
//! first one wins.

use std::collections::HashMap;
use std::fmt;

/// The column layout of an import file, detected from its header row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layout {
    /// 2020 Teddy Cup message-board files (`留言编号, 留言用户, 留言主题, 留言时间,
    /// 留言详情` and optionally `一级分类`, `答复意见, 答复时间`, `反对数, 点赞数`).
    TeddyCup,
    /// Fuzhou 12345 demands (`河流, 性质, 信息 来源, 标题, 时间, 投诉件内容, 回复1,
    /// 转处理次数`).
    Fuzhou,
    /// New York City 311 service requests (Socrata export columns).
    Nyc311,
}

impl Layout {
    /// Every layout, in the order detection tries them.
    pub const ALL: [Layout; 3] = [Layout::Nyc311, Layout::TeddyCup, Layout::Fuzhou];

    /// A short machine-friendly name: `teddycup`, `fuzhou` or `nyc311`.
    pub fn name(self) -> &'static str {
        match self {
            Layout::TeddyCup => "teddycup",
            Layout::Fuzhou => "fuzhou",
            Layout::Nyc311 => "nyc311",
        }
    }

    /// What a header needs to be recognised as this layout, for error messages.
    pub fn requirement(self) -> &'static str {
        match self {
            Layout::TeddyCup => {
                "Teddy Cup: 留言主题 or 留言详情 (optional 留言编号, 留言用户, 留言时间, 一级分类, 二级分类, 三级分类, 答复意见, 答复时间, 点赞数, 反对数)"
            }
            Layout::Fuzhou => {
                "Fuzhou 12345: 标题 or 投诉件内容 (optional 河流, 性质, 信息 来源, 时间, 回复1, 转处理次数)"
            }
            Layout::Nyc311 => {
                "NYC 311: complaint_type or descriptor, with unique_key or created_date (optional closed_date, incident_address, borough, resolution_description, open_data_channel_type, latitude, longitude)"
            }
        }
    }

    pub(crate) fn expectations() -> String {
        Layout::ALL
            .iter()
            .map(|l| l.requirement())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layout::TeddyCup => "Teddy Cup",
            Layout::Fuzhou => "Fuzhou 12345",
            Layout::Nyc311 => "NYC 311",
        })
    }
}

/// Normalises a header name for comparison (see the module documentation).
pub(crate) fn normalize_name(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// A column of the file: its position and its name as written in the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Col {
    pub idx: usize,
    pub name: String,
}

/// Where each field of an import row comes from; `None` for a column the
/// file does not have.
#[derive(Debug, Clone, Default)]
pub(crate) struct ColumnMap {
    pub external_id: Option<Col>,
    pub citizen_ref: Option<Col>,
    pub title: Option<Col>,
    pub description: Option<Col>,
    pub created_at: Option<Col>,
    pub category: Option<Col>,
    /// Teddy Cup: 二级分类 and 三级分类, where given.
    pub lower_categories: Vec<Col>,
    pub kind: Option<Col>,
    pub channel: Option<Col>,
    /// Fuzhou: the river.
    pub address: Option<Col>,
    pub reply: Option<Col>,
    pub replied_at: Option<Col>,
    pub transfers: Option<Col>,
    pub likes: Option<Col>,
    pub dislikes: Option<Col>,
    pub latitude: Option<Col>,
    pub longitude: Option<Col>,
    /// NYC: title and description are composed from these.
    pub complaint_type: Option<Col>,
    pub descriptor: Option<Col>,
    pub incident_address: Option<Col>,
    pub intersection_1: Option<Col>,
    pub intersection_2: Option<Col>,
    pub borough: Option<Col>,
}

struct Lookup<'a> {
    header: &'a [String],
    by_name: HashMap<String, usize>,
}

impl<'a> Lookup<'a> {
    fn new(header: &'a [String]) -> Self {
        let mut by_name = HashMap::new();
        for (idx, name) in header.iter().enumerate() {
            let key = normalize_name(name);
            if !key.is_empty() {
                by_name.entry(key).or_insert(idx);
            }
        }
        Lookup { header, by_name }
    }

    /// The first of `names` (already normalised) that the header has.
    fn col(&self, names: &[&str]) -> Option<Col> {
        names.iter().find_map(|n| {
            self.by_name.get(*n).map(|&idx| Col {
                idx,
                name: self.header[idx].clone(),
            })
        })
    }

    fn has(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }
}

/// Detects the layout of a header row and maps its columns.
pub(crate) fn detect(header: &[String]) -> Option<(Layout, ColumnMap)> {
    let l = Lookup::new(header);
    Layout::ALL.into_iter().find_map(|layout| {
        let recognised = match layout {
            Layout::Nyc311 => {
                (l.has("complainttype") || l.has("descriptor"))
                    && (l.has("uniquekey") || l.has("createddate"))
            }
            Layout::TeddyCup => l.has("留言主题") || l.has("留言详情"),
            Layout::Fuzhou => l.has("标题") || l.has("投诉件内容"),
        };
        recognised.then(|| (layout, map(layout, &l)))
    })
}

fn map(layout: Layout, l: &Lookup<'_>) -> ColumnMap {
    match layout {
        Layout::TeddyCup => ColumnMap {
            external_id: l.col(&["留言编号"]),
            citizen_ref: l.col(&["留言用户"]),
            title: l.col(&["留言主题"]),
            description: l.col(&["留言详情"]),
            created_at: l.col(&["留言时间"]),
            category: l.col(&["一级分类"]),
            lower_categories: [l.col(&["二级分类"]), l.col(&["三级分类"])]
                .into_iter()
                .map_while(|col| col)
                .collect(),
            reply: l.col(&["答复意见"]),
            replied_at: l.col(&["答复时间"]),
            likes: l.col(&["点赞数"]),
            dislikes: l.col(&["反对数"]),
            ..ColumnMap::default()
        },
        Layout::Fuzhou => ColumnMap {
            address: l.col(&["河流"]),
            kind: l.col(&["性质"]),
            channel: l.col(&["信息来源"]),
            title: l.col(&["标题"]),
            created_at: l.col(&["时间"]),
            description: l.col(&["投诉件内容"]),
            reply: l.col(&["回复1", "回复"]),
            transfers: l.col(&["转处理次数"]),
            ..ColumnMap::default()
        },
        Layout::Nyc311 => ColumnMap {
            external_id: l.col(&["uniquekey"]),
            created_at: l.col(&["createddate"]),
            replied_at: l.col(&["closeddate"]),
            reply: l.col(&["resolutiondescription"]),
            channel: l.col(&["opendatachanneltype"]),
            latitude: l.col(&["latitude"]),
            longitude: l.col(&["longitude"]),
            complaint_type: l.col(&["complainttype"]),
            descriptor: l.col(&["descriptor"]),
            incident_address: l.col(&["incidentaddress"]),
            intersection_1: l.col(&["intersectionstreet1"]),
            intersection_2: l.col(&["intersectionstreet2"]),
            borough: l.col(&["borough"]),
            ..ColumnMap::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(s: &str) -> Vec<String> {
        s.split(',').map(str::to_owned).collect()
    }

    #[test]
    fn names_normalise() {
        assert_eq!(
            normalize_name("X Coordinate (State Plane)"),
            "xcoordinatestateplane"
        );
        assert_eq!(
            normalize_name("x_coordinate_state_plane"),
            "xcoordinatestateplane"
        );
        assert_eq!(normalize_name("\u{feff}信息 来源 "), "信息来源");
    }

    #[test]
    fn detects_each_layout() {
        let (layout, map) = detect(&header(
            "留言编号,留言用户,留言主题,留言时间,留言详情,反对数,点赞数",
        ))
        .unwrap();
        assert_eq!(layout, Layout::TeddyCup);
        assert_eq!(map.likes.unwrap().idx, 6);
        assert_eq!(map.dislikes.unwrap().idx, 5);

        let (layout, map) = detect(&header(
            "河流,性质,信息 来源,标题,时间,投诉件内容,回复1,转处理次数",
        ))
        .unwrap();
        assert_eq!(layout, Layout::Fuzhou);
        assert_eq!(map.channel.unwrap().name, "信息 来源");

        let (layout, map) = detect(&header(
            "Unique Key,Created Date,Closed Date,Complaint Type,Descriptor",
        ))
        .unwrap();
        assert_eq!(layout, Layout::Nyc311);
        assert_eq!(map.replied_at.unwrap().idx, 2);

        let (layout, map) = detect(&header(
            "created_date,agency,complaint_type,descriptor,unique_key",
        ))
        .unwrap();
        assert_eq!(layout, Layout::Nyc311);
        assert_eq!(map.external_id.unwrap().idx, 4);
    }

    #[test]
    fn unknown_headers() {
        assert!(detect(&header("一级分类,二级分类,三级分类")).is_none());
        assert!(detect(&header("descriptor,agency")).is_none());
        assert!(detect(&header("")).is_none());
    }
}

//! [`ImportRow`], the format-independent content of one message, and how a
//! data row of each [`Layout`] is turned into one (or refused).

use jiff::civil::DateTime;

use crate::cell::{Cell, RowCells};
use crate::error::RowError;
use crate::layout::{Col, ColumnMap, Layout};

/// One citizen message read from an import file. Text is whitespace-normalised
/// (trimmed, CRLF to LF, tabs to spaces, runs of spaces collapsed; single-line
/// fields have line breaks turned into spaces); blank optional fields are `None`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImportRow {
    /// 1-based line where the CSV record starts, or the 1-based sheet row
    /// number; the header is line 1 in the usual file.
    pub line: u64,
    /// 留言编号 (Teddy Cup) or unique_key (NYC); Fuzhou has none.
    pub external_id: Option<String>,
    /// 留言用户: an anonymised user id (Teddy Cup only).
    pub citizen_ref: Option<String>,
    /// 留言主题 / 标题 / NYC `complaint_type - descriptor`. May be empty only
    /// when `description` is not.
    pub title: String,
    /// 留言详情 / 投诉件内容 / NYC `descriptor at address`. May be empty only
    /// when `title` is not.
    pub description: String,
    /// 留言时间 / 时间 / NYC created_date, local civil time.
    pub created_at: Option<DateTime>,
    /// 一级分类 (Teddy Cup), followed by 二级分类 and 三级分类 where the file has them,
    /// levels joined by `/`.
    pub category: Option<String>,
    /// Fuzhou 性质: 投诉/咨询/建议/举报/求助, as given.
    pub kind: Option<String>,
    /// Fuzhou 信息 来源 (网站, 电话, ...) or NYC open_data_channel_type, as given.
    pub channel: Option<String>,
    /// NYC incident address (or intersection) and borough; Fuzhou 河流 (the river).
    pub address: Option<String>,
    /// 答复意见 / 回复1 / NYC resolution_description.
    pub reply: Option<String>,
    /// 答复时间 / NYC closed_date.
    pub replied_at: Option<DateTime>,
    /// Fuzhou 转处理次数: how many times the demand was passed between units.
    pub transfers: Option<u32>,
    /// Teddy Cup 点赞数.
    pub likes: Option<u32>,
    /// Teddy Cup 反对数.
    pub dislikes: Option<u32>,
    /// NYC latitude (WGS 84).
    pub latitude: Option<f64>,
    /// NYC longitude (WGS 84).
    pub longitude: Option<f64>,
}

/// Builds the import row of one data row, or says why it is refused.
pub(crate) fn build(
    layout: Layout,
    map: &ColumnMap,
    line: u64,
    cells: &[Cell<'_>],
) -> Result<ImportRow, RowError> {
    let r = RowCells { line, cells };
    let one_line = |c| r.text(c, false);

    let (title, description, address) = match layout {
        Layout::TeddyCup | Layout::Fuzhou => {
            let title = one_line(map.title.as_ref())?.unwrap_or_default();
            let description = r.text(map.description.as_ref(), true)?.unwrap_or_default();
            if title.is_empty() && description.is_empty() {
                return Err(no_text(line, [&map.title, &map.description]));
            }
            (title, description, one_line(map.address.as_ref())?)
        }
        Layout::Nyc311 => {
            let complaint = one_line(map.complaint_type.as_ref())?;
            let descriptor = one_line(map.descriptor.as_ref())?;
            let address = nyc_address(&r, map)?;
            let title = [complaint.as_deref(), descriptor.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" - ");
            let what = descriptor.as_deref().or(complaint.as_deref());
            let description = match (what, address.as_deref()) {
                (Some(what), Some(place)) => format!("{what} at {place}"),
                (Some(what), None) => what.to_owned(),
                (None, _) => return Err(no_text(line, [&map.complaint_type, &map.descriptor])),
            };
            (title, description, address)
        }
    };

    let latitude = r.decimal(map.latitude.as_ref())?;
    if let (Some(lat), Some(col)) = (latitude, map.latitude.as_ref())
        && !(-90.0..=90.0).contains(&lat)
    {
        return Err(r.error(col, format!("latitude {lat} is outside -90..90")));
    }
    let longitude = r.decimal(map.longitude.as_ref())?;
    if let (Some(lon), Some(col)) = (longitude, map.longitude.as_ref())
        && !(-180.0..=180.0).contains(&lon)
    {
        return Err(r.error(col, format!("longitude {lon} is outside -180..180")));
    }

    Ok(ImportRow {
        line,
        external_id: one_line(map.external_id.as_ref())?,
        citizen_ref: one_line(map.citizen_ref.as_ref())?,
        title,
        description,
        created_at: r.datetime(map.created_at.as_ref())?,
        category: match one_line(map.category.as_ref())? {
            Some(mut path) => {
                for level in &map.lower_categories {
                    match one_line(Some(level))? {
                        Some(name) => path = format!("{path}/{name}"),
                        None => break,
                    }
                }
                Some(path)
            }
            None => None,
        },
        kind: one_line(map.kind.as_ref())?,
        channel: one_line(map.channel.as_ref())?,
        address,
        reply: r.text(map.reply.as_ref(), true)?,
        replied_at: r.datetime(map.replied_at.as_ref())?,
        transfers: r.count(map.transfers.as_ref())?,
        likes: r.count(map.likes.as_ref())?,
        dislikes: r.count(map.dislikes.as_ref())?,
        latitude,
        longitude,
    })
}

/// The refusal of a row whose text columns are all blank, naming them.
fn no_text(line: u64, columns: [&Option<Col>; 2]) -> RowError {
    let names: Vec<&str> = columns
        .into_iter()
        .flatten()
        .map(|c| c.name.as_str())
        .collect();
    RowError::new(
        line,
        None,
        format!("no message text: {}", blank_list(&names)),
    )
}

fn blank_list(names: &[&str]) -> String {
    match names {
        [] => "the file has no text column".to_owned(),
        [one] => format!("{one} is blank"),
        [a, b] => format!("{a} and {b} are both blank"),
        many => format!("{} are all blank", many.join(", ")),
    }
}

/// `incident_address, borough`, or the intersection when there is no address;
/// boroughs such as `Unspecified` are left out.
fn nyc_address(r: &RowCells<'_, '_>, map: &ColumnMap) -> Result<Option<String>, RowError> {
    let street = match r.text(map.incident_address.as_ref(), false)? {
        Some(a) => Some(a),
        None => {
            let a = r.text(map.intersection_1.as_ref(), false)?;
            let b = r.text(map.intersection_2.as_ref(), false)?;
            match (a, b) {
                (Some(a), Some(b)) => Some(format!("{a} & {b}")),
                (a, b) => a.or(b),
            }
        }
    };
    let borough = r
        .text(map.borough.as_ref(), false)?
        .filter(|b| !b.eq_ignore_ascii_case("unspecified") && !b.eq_ignore_ascii_case("n/a"));
    Ok(match (street, borough) {
        (Some(s), Some(b)) => Some(format!("{s}, {b}")),
        (s, b) => s.or(b),
    })
}

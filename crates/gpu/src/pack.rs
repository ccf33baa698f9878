//! Packing a batch for upload (host side): lay programs out in workgroups and chunks, and
//! fill the interleaved code, record heads and infos straight into mapped staging buffers on
//! all cores. The staging buffers and the device buffers they are copied into are pooled
//! between batches ([`Pool`]).
//!
//! Nothing here records or submits GPU work; `batch.rs` does, with what this module packs.

use bytemuck::{Pod, Zeroable};
use gvpie_pxl::{OPERANDS_PER_RECORD, RECORD_WORDS, Texture, decode_record};

use crate::batch::Outcome;

/// One program's header as the shader reads it (`struct Info` in batch.wgsl).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(crate) struct Info {
    n_records: u32,
    n_vars: u32,
    data_len: u32,
    code_len: u32,
    code_base: u32,
    head_base: u32,
    var_base: u32,
    lane: u32,
    group_code_base: u32,
    group_code_words: u32,
    group_head_base: u32,
    group_head_words: u32,
    /// Words of the group's interleaved variables (copied to and from workgroup memory).
    group_var_words: u32,
    pad: u32,
}

/// The per-record word 0 when valid, else 0: the shader's view of which records can run.
fn initial_head(texture: &Texture, index: usize) -> u32 {
    let record = texture.record(index);
    let mut literals = [0i32; OPERANDS_PER_RECORD];
    let valid =
        decode_record(&record, texture.n_vars(), texture.n_records(), texture.data_len(), 0, &mut literals).is_ok();
    if valid { record[0] } else { 0 }
}

pub(crate) fn words_u64(n: usize) -> u64 {
    n as u64 * 4
}

/// Whether a program executes each record at most once: no jump, loop, call, return or
/// `POKE` (which could write one). Decides whether a job starts in the interpreter-only
/// pipeline ([`crate::Tuning::split`]) and whether it is cut into chunks by program count
/// ([`crate::Tuning::chunk_programs`]).
pub(crate) fn straight_line(texture: &Texture) -> bool {
    use gvpie_pxl::Op;
    let branchy = [Op::Jmp, Op::If, Op::Loop, Op::Call, Op::Ret, Op::Poke].map(|op| op as u32);
    texture.code_words().chunks_exact(RECORD_WORDS).take(texture.n_records()).all(|r| !branchy.contains(&(r[0] & 0xFF)))
}

/// Programs of a job that [`mostly_straight_line`] looks at, at most.
const STRAIGHT_LINE_SAMPLE: usize = 1024;

/// Whether the programs of `indices` look [`straight_line`], judged on an evenly spaced sample
/// of at most [`STRAIGHT_LINE_SAMPLE`] of them. Only chunk sizes follow from it, never a
/// result, so a sample does: checking all of a batch of 200,000 image candidates read 410 MB
/// (every record's opcode), which cost more than packing the first chunk.
pub(crate) fn mostly_straight_line(programs: &[Texture], indices: &[usize]) -> bool {
    let step = indices.len().div_ceil(STRAIGHT_LINE_SAMPLE).max(1);
    indices.iter().step_by(step).all(|&i| straight_line(&programs[i]))
}

/// What the plan and the layout need of one program: its sizes in words.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ProgramSize {
    pub(crate) code: u32,
    pub(crate) records: u32,
    pub(crate) vars: u32,
}

impl ProgramSize {
    fn of(texture: &Texture) -> ProgramSize {
        ProgramSize {
            code: texture.code_words().len() as u32,
            records: texture.n_records() as u32,
            vars: texture.n_vars() as u32,
        }
    }
}

/// Every program's [`ProgramSize`], read on up to `threads` threads: each read is a cache miss
/// (a texture's words live in their own allocation), 9 ms for 200,000 programs on one core when
/// the plan and the layout each read them.
pub(crate) fn program_sizes(programs: &[Texture], threads: usize) -> Vec<ProgramSize> {
    let mut sizes = vec![ProgramSize::default(); programs.len()];
    let per = programs.len().div_ceil(threads.max(1)).max(8192);
    std::thread::scope(|scope| {
        for (out, part) in sizes.chunks_mut(per).zip(programs.chunks(per)) {
            scope.spawn(move || {
                for (size, texture) in out.iter_mut().zip(part) {
                    *size = ProgramSize::of(texture);
                }
            });
        }
    });
    sizes
}

/// One workgroup's programs and where their interleaved arrays go in the chunk's buffers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Group {
    /// Position of the group's first program in the job.
    first: usize,
    len: usize,
    max_code: usize,
    max_records: usize,
    max_vars: usize,
    code_off: usize,
    head_off: usize,
    var_off: usize,
}

/// Programs packed for one dispatch: groups `groups` of the job.
#[derive(Debug, Clone)]
pub(crate) struct Chunk {
    /// Position of the chunk's first program in the job.
    pub(crate) first: usize,
    /// Programs in the chunk.
    pub(crate) n: usize,
    /// The job's groups the chunk holds.
    pub(crate) groups: std::ops::Range<usize>,
    /// Words of the interleaved code, record heads and variables of all its groups.
    pub(crate) code_words: usize,
    pub(crate) head_words: usize,
    pub(crate) var_words: usize,
    /// The most variables and program words (heads and code) one workgroup needs.
    pub(crate) max_group_vars: usize,
    pub(crate) max_group_prog: usize,
}

/// Splits a job's programs into workgroups of `lanes` and the groups into chunks whose
/// buffers each fit `max_binding` bytes and that hold at most `max_programs` programs (0: no
/// such limit; a chunk holds at least one group); each program adds `extra` words (its saved
/// state and bookkeeping) to the variable buffer.
pub(crate) fn layout(
    sizes: &[ProgramSize],
    job: &[usize],
    lanes: usize,
    canvas_bytes: u64,
    max_binding: u64,
    max_programs: usize,
    extra: usize,
) -> (Vec<Group>, Vec<Chunk>) {
    let mut groups = Vec::with_capacity(job.len().div_ceil(lanes));
    let mut chunks = Vec::new();
    let empty = |first: usize, group: usize| Chunk {
        first,
        n: 0,
        groups: group..group,
        code_words: 0,
        head_words: 0,
        var_words: 0,
        max_group_vars: 0,
        max_group_prog: 0,
    };
    let mut chunk = empty(0, 0);
    for (g, members) in job.chunks(lanes).enumerate() {
        let max_code = members.iter().map(|&i| sizes[i].code as usize).max().unwrap_or(0);
        let max_records = members.iter().map(|&i| sizes[i].records as usize).max().unwrap_or(0);
        let max_vars = members.iter().map(|&i| sizes[i].vars as usize).max().unwrap_or(0);
        let grows = [
            words_u64(chunk.code_words + max_code * lanes),
            words_u64(chunk.head_words + max_records * lanes),
            words_u64(chunk.var_words + max_vars * lanes + (chunk.n + members.len()) * extra),
            (chunk.n + members.len()) as u64 * canvas_bytes,
            (chunk.n + members.len()) as u64 * std::mem::size_of::<Outcome>() as u64,
            (chunk.n + members.len()) as u64 * std::mem::size_of::<Info>() as u64,
        ];
        let full = max_programs > 0 && chunk.n + members.len() > max_programs;
        if chunk.n > 0 && (full || grows.iter().any(|&bytes| bytes > max_binding)) {
            let next = empty(chunk.first + chunk.n, g);
            chunks.push(std::mem::replace(&mut chunk, next));
        }
        groups.push(Group {
            first: g * lanes,
            len: members.len(),
            max_code,
            max_records,
            max_vars,
            code_off: chunk.code_words,
            head_off: chunk.head_words,
            var_off: chunk.var_words,
        });
        chunk.code_words += max_code * lanes;
        chunk.head_words += max_records * lanes;
        chunk.var_words += max_vars * lanes;
        chunk.max_group_vars = chunk.max_group_vars.max(max_vars * lanes);
        chunk.max_group_prog = chunk.max_group_prog.max((max_code + max_records) * lanes);
        chunk.n += members.len();
        chunk.groups.end = g + 1;
    }
    if chunk.n > 0 {
        chunks.push(chunk);
    }
    (groups, chunks)
}

/// Fills one group's interleaved code, heads and infos (chunk-relative offsets) into scratch
/// vectors, in address order so that the copies into mapped memory are sequential.
fn fill_group(
    programs: &[Texture],
    job: &[usize],
    group: &Group,
    lanes: usize,
    code: &mut Vec<u32>,
    heads: &mut Vec<u32>,
    infos: &mut Vec<Info>,
) {
    let members: Vec<&Texture> = job[group.first..group.first + group.len].iter().map(|&i| &programs[i]).collect();
    code.clear();
    code.resize(group.max_code * lanes, 0);
    for (lane, texture) in members.iter().enumerate() {
        for (addr, &word) in texture.code_words().iter().enumerate() {
            code[addr * lanes + lane] = word;
        }
    }
    heads.clear();
    heads.resize(group.max_records * lanes, 0);
    for (lane, texture) in members.iter().enumerate() {
        // An assembled texture's records are valid by construction: no need to decode them.
        let (words, valid) = (texture.code_words(), texture.records_valid());
        for index in 0..texture.n_records() {
            heads[index * lanes + lane] =
                if valid { words[index * RECORD_WORDS] } else { initial_head(texture, index) };
        }
    }
    infos.clear();
    for (lane, texture) in members.iter().enumerate() {
        infos.push(Info {
            n_records: texture.n_records() as u32,
            n_vars: texture.n_vars() as u32,
            data_len: texture.data_len() as u32,
            code_len: texture.code_words().len() as u32,
            code_base: (group.code_off + lane) as u32,
            head_base: (group.head_off + lane) as u32,
            var_base: (group.var_off + lane) as u32,
            lane: lane as u32,
            group_code_base: group.code_off as u32,
            group_code_words: (group.max_code * lanes) as u32,
            group_head_base: group.head_off as u32,
            group_head_words: (group.max_records * lanes) as u32,
            group_var_words: (group.max_vars * lanes) as u32,
            pad: 0,
        });
    }
}

/// Packs the groups of a part of a chunk into the write-only views of the mapped buffers.
fn fill_part(
    programs: &[Texture],
    job: &[usize],
    groups: &[Group],
    lanes: usize,
    mut code_out: wgpu::WriteOnly<'_, [u8]>,
    mut head_out: wgpu::WriteOnly<'_, [u8]>,
    mut info_out: wgpu::WriteOnly<'_, [u8]>,
) {
    let (mut code, mut heads, mut infos) = (Vec::new(), Vec::new(), Vec::new());
    for group in groups {
        fill_group(programs, job, group, lanes, &mut code, &mut heads, &mut infos);
        let (dst, rest) = code_out.split_at(code.len() * 4);
        let mut dst = dst;
        dst.copy_from_slice(bytemuck::cast_slice(&code));
        code_out = rest;
        let (mut dst, rest) = head_out.split_at(heads.len() * 4);
        dst.copy_from_slice(bytemuck::cast_slice(&heads));
        head_out = rest;
        let (mut dst, rest) = info_out.split_at(std::mem::size_of_val(&infos[..]));
        dst.copy_from_slice(bytemuck::cast_slice(&infos));
        info_out = rest;
    }
}

/// Buffers kept between batches: staging buffers (mapped for writing, ready to fill) and the
/// device buffers they are copied into.
#[derive(Debug, Default)]
pub(crate) struct Pool {
    staging: Vec<wgpu::Buffer>,
    device: Vec<wgpu::Buffer>,
}

/// The most bytes of staging (and as many of device) buffers kept between batches.
const POOL_MAX_BYTES: u64 = 3 << 30;

impl Pool {
    /// Keeps a used pair (its staging buffer mapped again) unless the pool is full.
    pub(crate) fn keep(&mut self, staged: Staged) {
        let held: u64 = self.staging.iter().map(wgpu::Buffer::size).sum();
        if held + staged.staging.size() <= POOL_MAX_BYTES {
            self.staging.push(staged.staging);
            self.device.push(staged.device);
        }
    }

    /// A staging buffer (mapped, ready to fill) and a device buffer of `bytes`, from the pool
    /// when it holds a fitting pair, else new.
    pub(crate) fn staged(&mut self, device: &wgpu::Device, label: &str, bytes: usize) -> Staged {
        let size = (bytes as u64).max(16).next_multiple_of(4);
        let staging = take(&mut self.staging, size).unwrap_or_else(|| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("gvpie.staging_buf"),
                size,
                usage: wgpu::BufferUsages::MAP_WRITE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: true,
            })
        });
        let device_buffer = take(&mut self.device, size).unwrap_or_else(|| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        });
        Staged { staging, device: device_buffer, size }
    }
}

/// The smallest pooled buffer of at least `size` bytes (and not wastefully larger).
fn take(list: &mut Vec<wgpu::Buffer>, size: u64) -> Option<wgpu::Buffer> {
    let best = list
        .iter()
        .enumerate()
        .filter(|(_, b)| b.size() >= size && b.size() <= size.saturating_mul(2).saturating_add(1 << 20))
        .min_by_key(|(_, b)| b.size())
        .map(|(i, _)| i)?;
    Some(list.swap_remove(best))
}

/// A staging buffer (mapped, being filled) and the device buffer its first `size` bytes go to.
pub(crate) struct Staged {
    pub(crate) staging: wgpu::Buffer,
    pub(crate) device: wgpu::Buffer,
    pub(crate) size: u64,
}

impl Staged {
    fn view(&self) -> Result<wgpu::BufferViewMut, String> {
        self.staging.slice(0..self.size).get_mapped_range_mut().map_err(|e| format!("mapping failed: {e}"))
    }

    pub(crate) fn binding(&self) -> wgpu::BindingResource<'_> {
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: &self.device,
            offset: 0,
            size: wgpu::BufferSize::new(self.size),
        })
    }
}

/// Three disjoint write-only views of mapped buffers, handed to a packing thread.
struct SendViews<'a>(View<'a>, View<'a>, View<'a>);

/// A write-only view of (part of) a mapped buffer.
type View<'a> = wgpu::WriteOnly<'a, [u8]>;

// SAFETY: a `WriteOnly<[u8]>` is a pointer and a length into a mapping, disjoint from every
// other view here (they come from `split_at`), exactly like a `&mut [u8]`, which is `Send`.
// wgpu only lacks the impl because its `Send` impl requires `T: Sized`.
unsafe impl Send for SendViews<'_> {}

impl<'a> SendViews<'a> {
    /// Takes the views out (a method, so that a closure captures the whole wrapper).
    fn into_parts(self) -> (View<'a>, View<'a>, View<'a>) {
        (self.0, self.1, self.2)
    }
}

/// One chunk's uploads: program infos, interleaved code and record heads.
pub(crate) struct Uploads {
    pub(crate) info: Staged,
    pub(crate) code: Staged,
    pub(crate) heads: Staged,
}

impl Uploads {
    /// The three staging pairs, in binding order (infos, code, heads).
    pub(crate) fn iter(&self) -> [&Staged; 3] {
        [&self.info, &self.code, &self.heads]
    }

    /// The three staging pairs, by value.
    pub(crate) fn into_array(self) -> [Staged; 3] {
        [self.info, self.code, self.heads]
    }
}

/// Packs one chunk's `groups` (of a job running `indices` with `lanes` per workgroup) into the
/// chunk's mapped staging buffers, on up to `threads` host threads, each filling whole
/// groups in address order.
///
/// # Errors
///
/// A staging buffer is not mapped.
pub(crate) fn fill_chunk(
    programs: &[Texture],
    indices: &[usize],
    lanes: usize,
    groups: &[Group],
    threads: usize,
    uploads: &Uploads,
) -> Result<(), String> {
    let mut info_view = uploads.info.view()?;
    let mut code_view = uploads.code.view()?;
    let mut head_view = uploads.heads.view()?;
    let parts = split_groups(groups, lanes, threads);
    let mut info_rest = info_view.slice(..);
    let mut code_rest = code_view.slice(..);
    let mut head_rest = head_view.slice(..);
    std::thread::scope(|scope| {
        let mut done = 0;
        for (k, &end) in parts.iter().enumerate() {
            let part = &groups[done..end];
            done = end;
            let n_code: usize = part.iter().map(|g| g.max_code * lanes).sum();
            let n_head: usize = part.iter().map(|g| g.max_records * lanes).sum();
            let n_info: usize = part.iter().map(|g| g.len).sum();
            let (code_out, rest) = std::mem::take(&mut code_rest).split_at(n_code * 4);
            code_rest = rest;
            let (head_out, rest) = std::mem::take(&mut head_rest).split_at(n_head * 4);
            head_rest = rest;
            let (info_out, rest) = std::mem::take(&mut info_rest).split_at(n_info * std::mem::size_of::<Info>());
            info_rest = rest;
            // The last part is packed on this thread: no thread is started for a small chunk.
            if k + 1 == parts.len() {
                fill_part(programs, indices, part, lanes, code_out, head_out, info_out);
            } else {
                let outs = SendViews(code_out, head_out, info_out);
                scope.spawn(move || {
                    let (code_out, head_out, info_out) = outs.into_parts();
                    fill_part(programs, indices, part, lanes, code_out, head_out, info_out)
                });
            }
        }
    });
    Ok(())
}

/// Splits groups into at most `threads` contiguous parts of similar work; returns each
/// part's end. Small chunks stay in one part (no thread is started for them).
fn split_groups(groups: &[Group], lanes: usize, threads: usize) -> Vec<usize> {
    let work: Vec<usize> = groups.iter().map(|g| (g.max_code + g.max_records * 4) * lanes + 64).collect();
    let total: usize = work.iter().sum();
    let parts = threads.clamp(1, (total / 200_000).max(1));
    let mut ends = Vec::with_capacity(parts);
    let mut acc = 0;
    for (g, w) in work.iter().enumerate() {
        acc += w;
        if acc * parts >= total * (ends.len() + 1) && ends.len() + 1 < parts {
            ends.push(g + 1);
        }
    }
    ends.push(groups.len());
    ends
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_interleaves_lanes_and_splits_chunks() -> Result<(), Vec<gvpie_pxl::Diagnostic>> {
        let a = gvpie_pxl::compile("SET x 1\nHALT")?;
        let b = gvpie_pxl::compile("TXT 0 0 hi\nSET y 2\nSET z 3")?;
        let programs = [a.clone(), b.clone(), a.clone()];
        let job = [0, 1, 2];
        let sizes = program_sizes(&programs, 2);
        let (groups, chunks) = layout(&sizes, &job, 2, 64, 1 << 20, 0, 0);
        assert_eq!(chunks.len(), 1);
        let (mut code, mut heads, mut infos) = (Vec::new(), Vec::new(), Vec::new());
        fill_group(&programs, &job, &groups[0], 2, &mut code, &mut heads, &mut infos);
        assert_eq!(infos.len(), 2);
        // Word 8 (record 1, word 0) of program b, lane 1 of group 0.
        assert_eq!(code[infos[1].code_base as usize + 8 * 2], b.code_words()[8]);
        assert_eq!(groups[1].code_off, b.code_words().len() * 2);
        assert_eq!(heads[2 + 1], b.code_words()[8]);
        // A tiny binding limit puts each group in its own chunk.
        let (_, chunks) = layout(&sizes, &job, 2, 64, 200, 0, 0);
        assert_eq!(chunks.iter().map(|c| (c.first, c.n)).collect::<Vec<_>>(), [(0, 2), (2, 1)]);
        // So does a limit of programs per chunk; a chunk holds at least one group.
        let (_, chunks) = layout(&sizes, &job, 2, 64, 1 << 20, 2, 0);
        assert_eq!(chunks.iter().map(|c| (c.first, c.n)).collect::<Vec<_>>(), [(0, 2), (2, 1)]);
        let (_, chunks) = layout(&sizes, &job, 2, 64, 1 << 20, 3, 0);
        assert_eq!(chunks.iter().map(|c| (c.first, c.n)).collect::<Vec<_>>(), [(0, 3)]);
        let (_, chunks) = layout(&sizes, &job, 2, 64, 1 << 20, 1, 0);
        assert_eq!(chunks.iter().map(|c| (c.first, c.n)).collect::<Vec<_>>(), [(0, 2), (2, 1)]);
        Ok(())
    }

    #[test]
    fn straight_line_programs_are_recognised() -> Result<(), Vec<gvpie_pxl::Diagnostic>> {
        assert!(straight_line(&gvpie_pxl::compile("COLOR 1 2 3 4\nRECT 0 0 5 5\nHALT")?));
        assert!(!straight_line(&gvpie_pxl::compile("l:\nRECT 0 0 5 5\nJMP l")?));
        assert!(!straight_line(&gvpie_pxl::compile("POKE 0 0")?));
        let plain = gvpie_pxl::compile("COLOR 1 2 3 4\nRECT 0 0 5 5")?;
        let mut programs = vec![plain; 10_000];
        let all: Vec<usize> = (0..10_000).collect();
        assert!(mostly_straight_line(&programs, &all));
        // The sample takes every 10th of 10,000 programs: one loop among them is seen, one
        // between them is not (chunk sizes only).
        programs[9_990] = gvpie_pxl::compile("l:\nJMP l")?;
        assert!(!mostly_straight_line(&programs, &all));
        assert!(mostly_straight_line(&programs, &all[..9_990]));
        programs[9_990] = programs[0].clone();
        programs[9_991] = gvpie_pxl::compile("l:\nJMP l")?;
        assert!(mostly_straight_line(&programs, &all));
        assert!(!mostly_straight_line(&programs, &[9_991]));
        Ok(())
    }

    #[test]
    fn parts_cover_all_groups() {
        let g = Group {
            first: 0,
            len: 64,
            max_code: 512,
            max_records: 64,
            max_vars: 0,
            code_off: 0,
            head_off: 0,
            var_off: 0,
        };
        let groups = vec![g; 1000];
        let ends = split_groups(&groups, 64, 16);
        assert_eq!(ends.len(), 16);
        assert_eq!(*ends.last().unwrap_or(&0), 1000);
        assert!(ends.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(split_groups(&groups[..1], 64, 16), [1]);
    }
}

//! Tax on an invoice's lines: pure arithmetic in integer minor units.
//!
//! **The rounding rule** (one rule, everywhere):
//! 1. An invoice-wide discount is shared among the lines in proportion to
//!    what is left of each after its own discount; the shares are whole minor
//!    units and add up exactly (largest remainder, ties to the earlier line).
//! 2. Tax is computed **per line** on the line's taxable amount and rounded
//!    **half up** to the minor unit (2.5 → 3). Under India's GST an
//!    intra-state line's CGST and SGST are each half the rate, each rounded on
//!    its own (as each is shown); an inter-state line carries IGST at the full
//!    rate.
//! 3. The document's totals are the sums of its lines, never re-rounded.

use serde::{Deserialize, Serialize};

use crate::text::text_enum;

/// How a clinic charges tax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Regime {
    /// No tax at all.
    None,
    /// VAT or GST at a rate per tax category.
    Vat,
    /// India's GST: exempt health care, CGST + SGST within the state, IGST across.
    IndiaGst,
}

text_enum!(Regime {
    None => "none",
    Vat => "vat",
    IndiaGst => "india_gst",
});

/// What a line's tax is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaxKind {
    /// No tax applies (no regime, or a zero rate).
    None,
    /// Exempt supply (under GST: clinical health care, on a bill of supply).
    Exempt,
    Vat,
    /// India, within the clinic's state.
    CgstSgst,
    /// India, across states.
    Igst,
}

text_enum!(TaxKind {
    None => "none",
    Exempt => "exempt",
    Vat => "vat",
    CgstSgst => "cgst_sgst",
    Igst => "igst",
});

/// The most any rate may be: 100 % in basis points.
pub const MAX_RATE_BP: i64 = 10_000;

/// One line as entered: `quantity` × `unit_price` less `discount`, taxed at
/// `rate_bp` basis points (1800 = 18 %) unless `exempt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineInput {
    pub quantity: i64,
    pub unit_price: i64,
    pub discount: i64,
    pub rate_bp: i64,
    pub exempt: bool,
}

/// A line with its tax worked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineTax {
    /// Quantity × unit price.
    pub gross: i64,
    /// The line's own discount plus its share of the invoice discount.
    pub discount: i64,
    pub taxable: i64,
    pub kind: TaxKind,
    pub rate_bp: i64,
    pub cgst: i64,
    pub sgst: i64,
    pub igst: i64,
    /// All tax on the line (VAT, or the GST parts added up).
    pub tax: i64,
    pub total: i64,
}

/// Where the supply is, for India's GST: whether it crosses a state line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Supply {
    IntraState,
    InterState,
}

/// What is wrong with an invoice's numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaxError {
    /// Line `n` (from 1): the reason.
    Line(usize, &'static str),
    /// The invoice discount is more than the lines after their discounts.
    DiscountTooLarge,
    /// An amount beyond what MediSync accepts (overflow guard).
    TooLarge,
}

impl std::fmt::Display for TaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Line(n, why) => write!(f, "line {n}: {why}"),
            Self::DiscountTooLarge => f.write_str("the discount is more than the invoice"),
            Self::TooLarge => f.write_str("the amount is too large"),
        }
    }
}

/// The most a single amount may be (in minor units): 10^12, far below
/// overflow even when multiplied by a rate.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;

/// `value × numerator / denominator`, rounded half up; all non-negative.
fn share_half_up(value: i64, numerator: i64, denominator: i64) -> i64 {
    let product = i128::from(value) * i128::from(numerator);
    let d = i128::from(denominator);
    ((product * 2 + d) / (d * 2)) as i64
}

/// Splits `total` among `weights` in proportion, in whole units that add up
/// exactly to `total` (largest remainder; ties go to the earlier weight).
pub fn allocate(total: i64, weights: &[i64]) -> Vec<i64> {
    let sum: i128 = weights.iter().map(|w| i128::from(*w)).sum();
    if sum == 0 || total == 0 {
        return vec![0; weights.len()];
    }
    let mut shares: Vec<(usize, i64, i128)> = weights
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let exact = i128::from(total) * i128::from(*w);
            (i, (exact / sum) as i64, exact % sum)
        })
        .collect();
    let given: i64 = shares.iter().map(|s| s.1).sum();
    let mut left = total - given;
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|a, b| shares[*b].2.cmp(&shares[*a].2).then(a.cmp(b)));
    for i in order {
        if left == 0 {
            break;
        }
        shares[i].1 += 1;
        left -= 1;
    }
    shares.into_iter().map(|s| s.1).collect()
}

/// Works out every line's tax under `regime`, after sharing out
/// `invoice_discount` (see the module's rounding rule).
pub fn compute(
    regime: Regime,
    supply: Supply,
    lines: &[LineInput],
    invoice_discount: i64,
) -> Result<Vec<LineTax>, TaxError> {
    let mut nets = Vec::with_capacity(lines.len());
    for (i, l) in lines.iter().enumerate() {
        let n = i + 1;
        if !(1..=100_000).contains(&l.quantity) {
            return Err(TaxError::Line(
                n,
                "the quantity must be between 1 and 100000",
            ));
        }
        if !(0..=MAX_AMOUNT).contains(&l.unit_price) {
            return Err(TaxError::Line(n, "the price must be zero or more"));
        }
        if !(0..=MAX_RATE_BP).contains(&l.rate_bp) {
            return Err(TaxError::Line(
                n,
                "the tax rate must be between 0 and 100 %",
            ));
        }
        let gross = l
            .quantity
            .checked_mul(l.unit_price)
            .ok_or(TaxError::TooLarge)?;
        if gross > MAX_AMOUNT {
            return Err(TaxError::TooLarge);
        }
        if l.discount < 0 || l.discount > gross {
            return Err(TaxError::Line(
                n,
                "the discount must be between zero and the line's amount",
            ));
        }
        nets.push(gross - l.discount);
    }
    let left: i64 = nets.iter().sum();
    if invoice_discount < 0 || invoice_discount > left {
        return Err(TaxError::DiscountTooLarge);
    }
    let shares = allocate(invoice_discount, &nets);
    Ok(lines
        .iter()
        .zip(nets.iter().zip(shares))
        .map(|(l, (net, share))| line_tax(regime, supply, l, net - share, l.discount + share))
        .collect())
}

fn line_tax(regime: Regime, supply: Supply, l: &LineInput, taxable: i64, discount: i64) -> LineTax {
    let gross = l.quantity * l.unit_price;
    let (kind, rate) = match regime {
        Regime::None => (TaxKind::None, 0),
        _ if l.exempt => (TaxKind::Exempt, 0),
        _ if l.rate_bp == 0 => (TaxKind::None, 0),
        Regime::Vat => (TaxKind::Vat, l.rate_bp),
        Regime::IndiaGst if supply == Supply::IntraState => (TaxKind::CgstSgst, l.rate_bp),
        Regime::IndiaGst => (TaxKind::Igst, l.rate_bp),
    };
    let (mut cgst, mut sgst, mut igst, mut vat) = (0, 0, 0, 0);
    match kind {
        TaxKind::Vat => vat = share_half_up(taxable, rate, MAX_RATE_BP),
        // Each half on its own: 9 % of 1 001 is 90.09 → 90 twice.
        TaxKind::CgstSgst => {
            cgst = share_half_up(taxable, rate, 2 * MAX_RATE_BP);
            sgst = cgst;
        }
        TaxKind::Igst => igst = share_half_up(taxable, rate, MAX_RATE_BP),
        TaxKind::None | TaxKind::Exempt => {}
    }
    let tax = vat + cgst + sgst + igst;
    LineTax {
        gross,
        discount,
        taxable,
        kind,
        rate_bp: rate,
        cgst,
        sgst,
        igst,
        tax,
        total: taxable + tax,
    }
}

/// The document's title, as the law asks under India's GST: a tax invoice
/// for taxable supplies, a bill of supply for exempt ones, and an
/// invoice-cum-bill of supply when one document carries both.
pub fn title(regime: Regime, lines: &[LineTax]) -> &'static str {
    let taxed = lines.iter().any(|l| l.tax > 0);
    let exempt = lines.iter().any(|l| l.kind == TaxKind::Exempt);
    match regime {
        Regime::None => "Invoice",
        Regime::Vat if taxed => "Tax invoice",
        Regime::Vat => "Invoice",
        Regime::IndiaGst if taxed && exempt => "Invoice-cum-bill of supply",
        Regime::IndiaGst if taxed => "Tax invoice",
        Regime::IndiaGst => "Bill of supply",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn line(quantity: i64, unit_price: i64, rate_bp: i64, exempt: bool) -> LineInput {
        LineInput {
            quantity,
            unit_price,
            discount: 0,
            rate_bp,
            exempt,
        }
    }

    #[test]
    fn india_gst_splits_within_the_state_and_not_across() {
        let lines = [line(1, 50_000, 1800, true), line(2, 1_250, 1800, false)];
        let within = compute(Regime::IndiaGst, Supply::IntraState, &lines, 0).expect("valid");
        assert_eq!(within[0].kind, TaxKind::Exempt);
        assert_eq!(within[0].tax, 0);
        assert_eq!(
            (within[1].cgst, within[1].sgst, within[1].igst),
            (225, 225, 0)
        );
        assert_eq!(within[1].total, 2_950);
        assert_eq!(
            title(Regime::IndiaGst, &within),
            "Invoice-cum-bill of supply"
        );
        let across = compute(Regime::IndiaGst, Supply::InterState, &lines, 0).expect("valid");
        assert_eq!(
            (across[1].cgst, across[1].sgst, across[1].igst),
            (0, 0, 450)
        );
        assert_eq!(title(Regime::IndiaGst, &across[..1]), "Bill of supply");
        assert_eq!(title(Regime::IndiaGst, &across[1..]), "Tax invoice");
    }

    #[test]
    fn each_gst_half_is_rounded_half_up_on_its_own() {
        // 9 % of 1 001 = 90.09 → 90; of 1 005 = 90.45 → 90; of 1 006 = 90.54 → 91;
        // 9 % of 50 = 4.5 → 5 (half up), so 18 % on 50 is 10, not 9.
        for (taxable, half) in [(1_001, 90), (1_005, 90), (1_006, 91), (50, 5)] {
            let t = compute(
                Regime::IndiaGst,
                Supply::IntraState,
                &[line(1, taxable, 1800, false)],
                0,
            )
            .expect("valid");
            assert_eq!(
                (t[0].cgst, t[0].sgst, t[0].tax),
                (half, half, 2 * half),
                "{taxable}"
            );
        }
        // VAT 20 % of 0.03 is 0.006 → 0.01; 5 % of 0.10 is 0.005 → 0.01.
        let vat = compute(
            Regime::Vat,
            Supply::IntraState,
            &[line(1, 3, 2000, false), line(1, 10, 500, false)],
            0,
        )
        .expect("valid");
        assert_eq!((vat[0].tax, vat[1].tax), (1, 1));
    }

    #[test]
    fn an_invoice_discount_is_shared_in_proportion_and_adds_up() {
        let lines = [
            line(1, 1_000, 0, false),
            line(1, 2_000, 0, false),
            line(1, 0, 0, false),
        ];
        let t = compute(Regime::None, Supply::IntraState, &lines, 100).expect("valid");
        assert_eq!(
            t.iter().map(|l| l.discount).collect::<Vec<_>>(),
            vec![33, 67, 0]
        );
        assert_eq!(allocate(10, &[1, 1, 1]), vec![4, 3, 3]);
        assert_eq!(
            compute(Regime::None, Supply::IntraState, &lines, 3_001),
            Err(TaxError::DiscountTooLarge)
        );
    }

    #[test]
    fn bad_lines_are_named() {
        let bad = |l: LineInput| {
            compute(
                Regime::Vat,
                Supply::IntraState,
                &[line(1, 1, 0, false), l],
                0,
            )
        };
        assert!(matches!(
            bad(line(0, 100, 0, false)),
            Err(TaxError::Line(2, _))
        ));
        assert!(matches!(
            bad(line(1, -1, 0, false)),
            Err(TaxError::Line(2, _))
        ));
        assert!(matches!(
            bad(line(1, 100, 10_001, false)),
            Err(TaxError::Line(2, _))
        ));
        assert!(matches!(
            bad(LineInput {
                discount: 101,
                ..line(1, 100, 0, false)
            }),
            Err(TaxError::Line(2, _))
        ));
        assert_eq!(
            bad(line(100_000, MAX_AMOUNT, 0, false)),
            Err(TaxError::TooLarge)
        );
        assert_eq!(title(Regime::None, &[]), "Invoice");
    }

    fn any_line() -> impl Strategy<Value = LineInput> {
        (
            1i64..50,
            0i64..2_000_000,
            0i64..=3,
            0i64..=2_800,
            any::<bool>(),
        )
            .prop_map(
                |(quantity, unit_price, discount_part, rate_bp, exempt)| LineInput {
                    quantity,
                    unit_price,
                    discount: quantity * unit_price * discount_part / 10,
                    rate_bp,
                    exempt,
                },
            )
    }

    proptest! {
        /// Whatever the lines: the discount shares add up, each line's total is
        /// its taxable amount plus its tax, the tax is the exact tax rounded
        /// half up (each GST half on its own), and CGST always equals SGST.
        #[test]
        fn every_invoice_adds_up(
            lines in proptest::collection::vec(any_line(), 1..8),
            discount_part in 0i64..=100,
            regime in prop_oneof![Just(Regime::None), Just(Regime::Vat), Just(Regime::IndiaGst)],
            across in any::<bool>(),
        ) {
            let nets: i64 = lines.iter().map(|l| l.quantity * l.unit_price - l.discount).sum();
            let invoice_discount = nets * discount_part / 100;
            let supply = if across { Supply::InterState } else { Supply::IntraState };
            let t = compute(regime, supply, &lines, invoice_discount).expect("valid");
            let shared: i64 = t.iter().zip(&lines).map(|(t, l)| t.discount - l.discount).sum();
            prop_assert_eq!(shared, invoice_discount);
            for (t, l) in t.iter().zip(&lines) {
                prop_assert_eq!(t.gross - t.discount, t.taxable);
                prop_assert!(t.taxable >= 0);
                prop_assert_eq!(t.total, t.taxable + t.tax);
                prop_assert_eq!(t.cgst, t.sgst);
                let rate = if regime == Regime::None || l.exempt { 0 } else { l.rate_bp };
                // Half up: 2·tax lies in (2x − 1, 2x + 1] for the exact x = taxable·rate.
                let exact_x2 = 2 * i128::from(t.taxable) * i128::from(rate);
                let parts: i128 = if t.kind == TaxKind::CgstSgst { 2 } else { 1 };
                let err = i128::from(t.tax) * 2 * 10_000 - exact_x2;
                prop_assert!(err > -10_000 * parts && err <= 10_000 * parts, "tax {} on {} at {}", t.tax, t.taxable, rate);
            }
        }
    }
}

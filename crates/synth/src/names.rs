//! Embedded name tables: frequency-weighted first names and surnames for a Durham-like county,
//! nicknames, and small helpers (accent folding, title case).
//!
//! Weights are rough relative frequencies (per mille of the group), enough to make the common
//! names very common ("James Smith") and the rare ones rare. Hispanic names carry their accents
//! (José, Peña); agencies decide whether to keep them.

use rand::distributions::{Distribution, WeightedIndex};
use rand::Rng;

/// A frequency-weighted list of names.
pub struct NameTable {
    names: &'static [(&'static str, u32)],
    index: WeightedIndex<u32>,
}

impl NameTable {
    pub fn new(names: &'static [(&'static str, u32)]) -> Self {
        let index = WeightedIndex::new(names.iter().map(|(_, w)| *w)).expect("non-empty table");
        NameTable { names, index }
    }

    pub fn pick<R: Rng + ?Sized>(&self, rng: &mut R) -> &'static str {
        self.names[self.index.sample(rng)].0
    }

    /// A name different from `not` (falls back after a few tries).
    pub fn pick_other<R: Rng + ?Sized>(&self, rng: &mut R, not: &str) -> &'static str {
        for _ in 0..16 {
            let n = self.pick(rng);
            if n != not {
                return n;
            }
        }
        self.names
            .iter()
            .map(|(n, _)| *n)
            .find(|n| *n != not)
            .unwrap_or(self.names[0].0)
    }
}

/// The ethnic naming pools the tables are split into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pool {
    General,
    Hispanic,
    Asian,
}

/// All tables, built once.
pub struct Names {
    pub male: NameTable,
    pub female: NameTable,
    pub hisp_male: NameTable,
    pub hisp_female: NameTable,
    pub asian_male: NameTable,
    pub asian_female: NameTable,
    pub surname: NameTable,
    pub hisp_surname: NameTable,
    pub asian_surname: NameTable,
}

impl Names {
    pub fn new() -> Self {
        Names {
            male: NameTable::new(MALE_FIRST),
            female: NameTable::new(FEMALE_FIRST),
            hisp_male: NameTable::new(HISP_MALE_FIRST),
            hisp_female: NameTable::new(HISP_FEMALE_FIRST),
            asian_male: NameTable::new(ASIAN_MALE_FIRST),
            asian_female: NameTable::new(ASIAN_FEMALE_FIRST),
            surname: NameTable::new(SURNAMES),
            hisp_surname: NameTable::new(HISP_SURNAMES),
            asian_surname: NameTable::new(ASIAN_SURNAMES),
        }
    }

    pub fn first(&self, pool: Pool, female: bool) -> &NameTable {
        match (pool, female) {
            (Pool::General, false) => &self.male,
            (Pool::General, true) => &self.female,
            (Pool::Hispanic, false) => &self.hisp_male,
            (Pool::Hispanic, true) => &self.hisp_female,
            (Pool::Asian, false) => &self.asian_male,
            (Pool::Asian, true) => &self.asian_female,
        }
    }

    pub fn surname(&self, pool: Pool) -> &NameTable {
        match pool {
            Pool::General => &self.surname,
            Pool::Hispanic => &self.hisp_surname,
            Pool::Asian => &self.asian_surname,
        }
    }
}

impl Default for Names {
    fn default() -> Self {
        Self::new()
    }
}

/// Nicknames (informal forms) of a legal first name; empty when none is common.
pub fn nicknames(first: &str) -> &'static [&'static str] {
    match NICKNAMES.binary_search_by(|(n, _)| (*n).cmp(first)) {
        Ok(i) => NICKNAMES[i].1,
        Err(_) => &[],
    }
}

/// Strip Latin-1 accents: "José Peña" → "Jose Pena".
pub fn fold_accents(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => 'a',
            'Á' | 'À' | 'Â' | 'Ä' | 'Ã' | 'Å' => 'A',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'É' | 'È' | 'Ê' | 'Ë' => 'E',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'Í' | 'Ì' | 'Î' | 'Ï' => 'I',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
            'Ó' | 'Ò' | 'Ô' | 'Ö' | 'Õ' => 'O',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'Ú' | 'Ù' | 'Û' | 'Ü' => 'U',
            'ñ' => 'n',
            'Ñ' => 'N',
            'ç' => 'c',
            'Ç' => 'C',
            other => other,
        })
        .collect()
}

/// True when the string has a character outside ASCII.
pub fn has_accent(s: &str) -> bool {
    !s.is_ascii()
}

// ---------------------------------------------------------------------------------------------
// Tables. Sorted by weight within each list only for readability.

pub static MALE_FIRST: &[(&str, u32)] = &[
    ("James", 330), ("John", 320), ("Robert", 310), ("Michael", 260), ("William", 240),
    ("David", 240), ("Richard", 130), ("Joseph", 130), ("Thomas", 110), ("Charles", 110),
    ("Christopher", 100), ("Daniel", 100), ("Matthew", 80), ("Anthony", 70), ("Donald", 70),
    ("Mark", 70), ("Paul", 70), ("Steven", 70), ("Andrew", 60), ("Kenneth", 60), ("Joshua", 60),
    ("Kevin", 60), ("Brian", 60), ("George", 60), ("Edward", 50), ("Ronald", 50), ("Timothy", 50),
    ("Jason", 50), ("Jeffrey", 50), ("Ryan", 40), ("Jacob", 40), ("Gary", 40), ("Nicholas", 40),
    ("Eric", 40), ("Jonathan", 40), ("Stephen", 40), ("Larry", 40), ("Justin", 40), ("Scott", 40),
    ("Brandon", 40), ("Benjamin", 30), ("Samuel", 30), ("Gregory", 30), ("Frank", 30),
    ("Alexander", 30), ("Raymond", 30), ("Patrick", 30), ("Jack", 30), ("Dennis", 30),
    ("Jerry", 30), ("Tyler", 30), ("Aaron", 30), ("Henry", 20), ("Douglas", 20), ("Peter", 20),
    ("Adam", 20), ("Nathan", 20), ("Zachary", 20), ("Walter", 20), ("Kyle", 20), ("Harold", 20),
    ("Carl", 20), ("Jeremy", 20), ("Keith", 20), ("Roger", 20), ("Gerald", 20), ("Ethan", 20),
    ("Arthur", 20), ("Terry", 20), ("Christian", 20), ("Sean", 20), ("Lawrence", 20),
    ("Austin", 20), ("Noah", 20), ("Jesse", 20), ("Albert", 20), ("Bryan", 20), ("Bruce", 20),
    ("Willie", 25), ("Jordan", 20), ("Dylan", 15), ("Alan", 15), ("Ralph", 15), ("Gabriel", 15),
    ("Roy", 15), ("Wayne", 15), ("Eugene", 12), ("Louis", 12), ("Russell", 12), ("Vincent", 12),
    ("Philip", 12), ("Bobby", 12), ("Johnny", 12), ("Bradley", 12), ("Darnell", 18),
    ("DeShawn", 12), ("Tyrone", 15), ("Jamal", 15), ("Marcus", 22), ("Terrence", 14),
    ("Cedric", 12), ("Reginald", 15), ("Antoine", 10), ("Demetrius", 10), ("Andre", 16),
    ("Jermaine", 12), ("Lamont", 9), ("Darius", 12), ("Malik", 12), ("Tremaine", 6),
    ("Rashad", 8), ("Quentin", 8), ("Curtis", 15), ("Leroy", 10), ("Otis", 7), ("Alvin", 10),
    ("Calvin", 12), ("Clarence", 12), ("Cornelius", 7), ("Xavier", 10), ("Isaiah", 12),
    ("Elijah", 12), ("Dominique", 6), ("Terrell", 8), ("Maurice", 10), ("Derrick", 12),
    ("Travis", 12), ("Shawn", 12), ("Corey", 12), ("Dwayne", 9), ("Kendrick", 6), ("Jalen", 8),
];

pub static FEMALE_FIRST: &[(&str, u32)] = &[
    ("Mary", 260), ("Patricia", 110), ("Jennifer", 110), ("Linda", 100), ("Elizabeth", 90),
    ("Barbara", 90), ("Susan", 80), ("Jessica", 80), ("Sarah", 80), ("Karen", 70), ("Lisa", 70),
    ("Nancy", 70), ("Betty", 60), ("Sandra", 60), ("Margaret", 60), ("Ashley", 60),
    ("Kimberly", 60), ("Emily", 50), ("Donna", 50), ("Michelle", 50), ("Carol", 50),
    ("Amanda", 50), ("Melissa", 50), ("Deborah", 50), ("Stephanie", 50), ("Dorothy", 40),
    ("Rebecca", 40), ("Sharon", 40), ("Laura", 40), ("Cynthia", 40), ("Amy", 40),
    ("Kathleen", 40), ("Angela", 40), ("Shirley", 40), ("Brenda", 40), ("Emma", 30), ("Anna", 30),
    ("Pamela", 30), ("Nicole", 30), ("Samantha", 30), ("Katherine", 30), ("Christine", 30),
    ("Helen", 30), ("Debra", 30), ("Rachel", 30), ("Carolyn", 30), ("Janet", 30), ("Maria", 30),
    ("Catherine", 30), ("Heather", 30), ("Diane", 30), ("Olivia", 30), ("Julie", 30),
    ("Joyce", 30), ("Victoria", 30), ("Ruth", 30), ("Virginia", 30), ("Lauren", 30),
    ("Kelly", 30), ("Christina", 30), ("Joan", 20), ("Evelyn", 20), ("Judith", 20),
    ("Andrea", 20), ("Hannah", 20), ("Megan", 20), ("Cheryl", 20), ("Jacqueline", 20),
    ("Martha", 20), ("Madison", 20), ("Teresa", 20), ("Gloria", 20), ("Sara", 20), ("Janice", 20),
    ("Ann", 20), ("Kathryn", 20), ("Abigail", 20), ("Sophia", 20), ("Frances", 20), ("Jean", 20),
    ("Alice", 20), ("Judy", 20), ("Isabella", 20), ("Julia", 20), ("Grace", 20), ("Amber", 20),
    ("Denise", 20), ("Danielle", 20), ("Marilyn", 20), ("Beverly", 20), ("Charlotte", 20),
    ("Natalie", 20), ("Theresa", 20), ("Diana", 20), ("Brittany", 20), ("Doris", 20),
    ("Kayla", 20), ("Alexis", 20), ("Lori", 20), ("Tamika", 14), ("Latoya", 14), ("Keisha", 12),
    ("Shanice", 8), ("Ebony", 12), ("Tasha", 10), ("Monique", 12), ("Yolanda", 14),
    ("Tiffany", 18), ("Aaliyah", 10), ("Imani", 8), ("Jasmine", 18), ("Destiny", 10),
    ("Shaniqua", 6), ("LaShonda", 6), ("Precious", 6), ("Lakisha", 8), ("Felicia", 12),
    ("Gwendolyn", 10), ("Bernice", 8), ("Tanisha", 10), ("Shonda", 6), ("Kiara", 8),
    ("Alexandra", 12), ("Rhonda", 12), ("Vanessa", 14), ("Wanda", 14), ("Valerie", 12),
];

pub static HISP_MALE_FIRST: &[(&str, u32)] = &[
    ("José", 120), ("Juan", 100), ("Luis", 80), ("Carlos", 80), ("Jesús", 50), ("Miguel", 60),
    ("Francisco", 50), ("Jorge", 45), ("Pedro", 35), ("Alejandro", 35), ("Antonio", 40),
    ("Manuel", 35), ("Ricardo", 25), ("Roberto", 25), ("Fernando", 25), ("Eduardo", 25),
    ("Javier", 25), ("Raúl", 20), ("Ramón", 18), ("Sergio", 18), ("Andrés", 12), ("Rubén", 12),
    ("Víctor", 15), ("Óscar", 15), ("Héctor", 15), ("Efraín", 6), ("Joaquín", 6), ("Adrián", 10),
    ("Iván", 8), ("Julio", 12), ("Mario", 15), ("Daniel", 20), ("David", 15), ("Ángel", 14),
    ("Guadalupe", 5), ("Santiago", 8), ("Diego", 10),
];

pub static HISP_FEMALE_FIRST: &[(&str, u32)] = &[
    ("María", 150), ("Guadalupe", 40), ("Ana", 50), ("Rosa", 35), ("Juana", 25),
    ("Carmen", 30), ("Margarita", 18), ("Verónica", 20), ("Leticia", 18), ("Gabriela", 20),
    ("Elena", 18), ("Sofía", 14), ("Lucía", 12), ("Isabel", 15), ("Patricia", 15),
    ("Adriana", 18), ("Alejandra", 18), ("Mónica", 14), ("Claudia", 16), ("Teresa", 14),
    ("Yesenia", 10), ("Daniela", 14), ("Valeria", 10), ("Ximena", 6), ("Araceli", 8),
    ("Silvia", 12), ("Beatriz", 8), ("Inés", 5), ("Raquel", 8), ("Marisol", 8), ("Dolores", 8),
];

pub static ASIAN_MALE_FIRST: &[(&str, u32)] = &[
    ("Minh", 20), ("Wei", 20), ("Jin", 15), ("Raj", 15), ("Sanjay", 12), ("Jun", 12),
    ("Hyun", 10), ("Arjun", 12), ("Thanh", 10), ("Tuan", 10), ("Hao", 8), ("Vikram", 8),
    ("Kenji", 6), ("Sung", 8), ("Amit", 10), ("Ravi", 10), ("Kevin", 15), ("David", 15),
];

pub static ASIAN_FEMALE_FIRST: &[(&str, u32)] = &[
    ("Anh", 18), ("Mei", 18), ("Priya", 15), ("Hui", 10), ("Linh", 14), ("Deepa", 10),
    ("Ji", 8), ("Yuna", 8), ("Lan", 10), ("Ananya", 8), ("Sunita", 8), ("Xiu", 6),
    ("Hoa", 8), ("Grace", 12), ("Jennifer", 12), ("Mai", 12),
];

pub static SURNAMES: &[(&str, u32)] = &[
    ("Smith", 828), ("Johnson", 655), ("Williams", 550), ("Brown", 487), ("Jones", 483),
    ("Miller", 394), ("Davis", 380), ("Wilson", 283), ("Anderson", 272), ("Thomas", 261),
    ("Taylor", 260), ("Moore", 246), ("Jackson", 244), ("Martin", 240), ("Lee", 234),
    ("Thompson", 232), ("White", 229), ("Harris", 214), ("Clark", 192), ("Lewis", 187),
    ("Robinson", 185), ("Walker", 182), ("Young", 168), ("Allen", 165), ("King", 164),
    ("Wright", 162), ("Scott", 153), ("Hill", 148), ("Green", 146), ("Adams", 145),
    ("Nelson", 141), ("Baker", 139), ("Hall", 138), ("Campbell", 129), ("Mitchell", 128),
    ("Carter", 126), ("Roberts", 126), ("Phillips", 113), ("Evans", 112), ("Turner", 111),
    ("Parker", 105), ("Collins", 100), ("Edwards", 100), ("Stewart", 99), ("Morris", 96),
    ("Murphy", 94), ("Cook", 93), ("Rogers", 92), ("Morgan", 88), ("Cooper", 87), ("Peterson", 87),
    ("Bailey", 86), ("Reed", 85), ("Kelly", 84), ("Howard", 83), ("Cox", 80), ("Ward", 80),
    ("Richardson", 79), ("Watson", 78), ("Brooks", 78), ("Wood", 77), ("James", 77),
    ("Bennett", 76), ("Gray", 76), ("Hughes", 73), ("Price", 72), ("Sanders", 72), ("Myers", 70),
    ("Long", 70), ("Ross", 69), ("Foster", 68), ("Powell", 67), ("Jenkins", 67), ("Perry", 66),
    ("Russell", 65), ("Sullivan", 64), ("Bell", 64), ("Coleman", 63), ("Butler", 62),
    ("Henderson", 62), ("Barnes", 61), ("Fisher", 58), ("Simmons", 58), ("Patterson", 58),
    ("Washington", 58), ("Alexander", 57), ("Hamilton", 56), ("Graham", 55), ("Wallace", 52),
    ("Woods", 52), ("Cole", 51), ("West", 51), ("Jordan", 50), ("Owens", 50), ("Reynolds", 50),
    ("Ellis", 49), ("Harrison", 49), ("Gibson", 48), ("McDonald", 48), ("Marshall", 48),
    ("Wells", 47), ("Ford", 47), ("Graves", 40), ("Freeman", 44), ("Webb", 44), ("Tucker", 43),
    ("Porter", 43), ("Hunter", 43), ("Hicks", 43), ("Crawford", 43), ("Henry", 42), ("Boyd", 42),
    ("Mason", 42), ("Kennedy", 41), ("Warren", 41), ("Dixon", 41), ("Burns", 40), ("Gordon", 40),
    ("Shaw", 40), ("Holmes", 40), ("Rice", 39), ("Robertson", 39), ("Hunt", 38), ("Black", 38),
    ("Daniels", 38), ("Palmer", 38), ("Mills", 37), ("Grant", 36), ("Knight", 36),
    ("Ferguson", 36), ("Stone", 35), ("Hawkins", 35), ("Dunn", 35), ("Perkins", 35),
    ("Hudson", 34), ("Spencer", 34), ("Stephens", 34), ("Pierce", 34), ("Wheeler", 33),
    ("Bryant", 45), ("Mangum", 25), ("Parrish", 22), ("Umstead", 14), ("Hargrove", 16),
    ("Bullock", 20), ("Cozart", 10), ("Faucette", 10), ("McNeill", 16), ("McLean", 18),
    ("Daye", 8), ("Horton", 20), ("Lassiter", 12), ("Nichols", 28), ("Pettiford", 10),
    ("Riggsbee", 8), ("Satterfield", 10), ("Strayhorn", 8), ("Tilley", 10), ("Turrentine", 8),
    ("Vaughan", 14), ("Whitted", 10), ("Yarborough", 10), ("McCoy", 25), ("Battle", 14),
    ("Alston", 22), ("Bynum", 12), ("Spruill", 8), ("Leathers", 8), ("Massenburg", 6),
    ("Womack", 12), ("Royster", 8), ("Boone", 15), ("Council", 8), ("Lyons", 18), ("Harrell", 15),
    ("O'Neal", 18), ("O'Brien", 12), ("Oakley", 8), ("Blackwell", 12), ("Stallings", 8),
    ("Burnette", 12), ("Jeffries", 8), ("Ray", 20), ("Moss", 18), ("Holloway", 14),
    ("Best", 10), ("Terry", 20), ("Page", 14), ("Weaver", 22), ("Walton", 14), ("Joyner", 12),
    ("Outlaw", 6), ("Farrar", 6), ("Godwin", 8), ("Pope", 15), ("Pugh", 10), ("Tyson", 10),
];

pub static HISP_SURNAMES: &[(&str, u32)] = &[
    ("García", 466), ("Rodríguez", 375), ("Martínez", 366), ("Hernández", 363), ("López", 301),
    ("González", 289), ("Pérez", 233), ("Sánchez", 210), ("Ramírez", 189), ("Torres", 152),
    ("Flores", 148), ("Rivera", 137), ("Gómez", 120), ("Díaz", 115), ("Reyes", 100),
    ("Morales", 96), ("Cruz", 90), ("Ortiz", 88), ("Gutiérrez", 85), ("Chávez", 80),
    ("Ramos", 75), ("Ruiz", 70), ("Álvarez", 68), ("Mendoza", 66), ("Vásquez", 62),
    ("Castillo", 60), ("Jiménez", 58), ("Moreno", 56), ("Romero", 55), ("Herrera", 52),
    ("Medina", 50), ("Aguilar", 48), ("Peña", 40), ("Muñoz", 45), ("Núñez", 30), ("Ibáñez", 10),
    ("Domínguez", 28), ("Fernández", 30), ("Suárez", 22), ("Ordóñez", 10), ("Cortés", 20),
    ("Ávila", 20), ("Benítez", 15), ("Méndez", 25), ("Castañeda", 12), ("Guzmán", 22),
    ("Márquez", 20), ("Vargas", 40), ("Castro", 40), ("Espinoza", 25), ("Salazar", 25),
    ("Delgado", 25), ("Contreras", 25), ("Luna", 18), ("Ríos", 18), ("Juárez", 18),
    ("Navarro", 15), ("Orellana", 8), ("Hidalgo", 8),
];

pub static ASIAN_SURNAMES: &[(&str, u32)] = &[
    ("Nguyen", 149), ("Tran", 60), ("Le", 45), ("Pham", 35), ("Kim", 70), ("Park", 40),
    ("Chen", 70), ("Wang", 60), ("Li", 55), ("Zhang", 45), ("Liu", 40), ("Patel", 90),
    ("Shah", 30), ("Singh", 50), ("Kumar", 40), ("Huang", 30), ("Wu", 30), ("Lin", 30),
    ("Choi", 25), ("Yang", 30), ("Reddy", 15), ("Gupta", 15),
];

/// Legal first name → common informal forms. Sorted by name for binary search.
pub static NICKNAMES: &[(&str, &[&str])] = &[
    ("Abigail", &["Abby"]),
    ("Alejandra", &["Ale"]),
    ("Alejandro", &["Alex"]),
    ("Alexander", &["Alex", "Xander"]),
    ("Alexandra", &["Alex", "Sandra"]),
    ("Alexis", &["Lexi"]),
    ("Andrew", &["Andy", "Drew"]),
    ("Angela", &["Angie"]),
    ("Anthony", &["Tony"]),
    ("Antonio", &["Tony", "Toño"]),
    ("Arthur", &["Art"]),
    ("Barbara", &["Barb", "Barbie"]),
    ("Benjamin", &["Ben", "Benny"]),
    ("Beverly", &["Bev"]),
    ("Bradley", &["Brad"]),
    ("Catherine", &["Cathy", "Kate"]),
    ("Charles", &["Charlie", "Chuck"]),
    ("Christina", &["Tina", "Chris"]),
    ("Christine", &["Chris", "Tina"]),
    ("Christopher", &["Chris"]),
    ("Cornelius", &["Neil"]),
    ("Cynthia", &["Cindy"]),
    ("Daniel", &["Dan", "Danny"]),
    ("Danielle", &["Dani"]),
    ("Deborah", &["Debbie", "Deb"]),
    ("Debra", &["Debbie"]),
    ("Demetrius", &["Meech"]),
    ("Donald", &["Don", "Donnie"]),
    ("Dorothy", &["Dot", "Dottie"]),
    ("Douglas", &["Doug"]),
    ("Edward", &["Ed", "Eddie"]),
    ("Eduardo", &["Lalo"]),
    ("Elizabeth", &["Liz", "Beth", "Betty"]),
    ("Eugene", &["Gene"]),
    ("Francisco", &["Paco", "Frank"]),
    ("Frederick", &["Fred"]),
    ("Gabriela", &["Gaby"]),
    ("Gerald", &["Jerry"]),
    ("Gregory", &["Greg"]),
    ("Guadalupe", &["Lupe"]),
    ("Gwendolyn", &["Gwen"]),
    ("Harold", &["Harry"]),
    ("Isabella", &["Bella"]),
    ("Jacqueline", &["Jackie"]),
    ("James", &["Jim", "Jimmy", "Jamie"]),
    ("Jeffrey", &["Jeff"]),
    ("Jennifer", &["Jen", "Jenny"]),
    ("Jessica", &["Jess"]),
    ("Jesús", &["Chuy"]),
    ("John", &["Johnny", "Jack"]),
    ("Jonathan", &["Jon"]),
    ("José", &["Pepe"]),
    ("Joseph", &["Joe", "Joey"]),
    ("Joshua", &["Josh"]),
    ("Judith", &["Judy"]),
    ("Katherine", &["Kate", "Katie", "Kathy"]),
    ("Kathleen", &["Kathy"]),
    ("Kathryn", &["Katie"]),
    ("Kenneth", &["Ken", "Kenny"]),
    ("Kimberly", &["Kim"]),
    ("Lawrence", &["Larry"]),
    ("Leticia", &["Lety"]),
    ("Manuel", &["Manny"]),
    ("Margaret", &["Maggie", "Peggy", "Meg"]),
    ("María", &["Mari"]),
    ("Matthew", &["Matt"]),
    ("Michael", &["Mike", "Mikey"]),
    ("Nicholas", &["Nick"]),
    ("Pamela", &["Pam"]),
    ("Patricia", &["Pat", "Patty", "Trish"]),
    ("Patrick", &["Pat"]),
    ("Peter", &["Pete"]),
    ("Philip", &["Phil"]),
    ("Raymond", &["Ray"]),
    ("Rebecca", &["Becky"]),
    ("Reginald", &["Reggie"]),
    ("Ricardo", &["Rick"]),
    ("Richard", &["Rick", "Dick", "Richie"]),
    ("Robert", &["Bob", "Rob", "Bobby"]),
    ("Roberto", &["Beto"]),
    ("Ronald", &["Ron", "Ronnie"]),
    ("Samantha", &["Sam"]),
    ("Samuel", &["Sam"]),
    ("Sandra", &["Sandy"]),
    ("Stephanie", &["Steph"]),
    ("Stephen", &["Steve"]),
    ("Steven", &["Steve"]),
    ("Susan", &["Sue", "Susie"]),
    ("Terrence", &["Terry"]),
    ("Theresa", &["Terri"]),
    ("Thomas", &["Tom", "Tommy"]),
    ("Timothy", &["Tim"]),
    ("Valerie", &["Val"]),
    ("Victoria", &["Vicky", "Tori"]),
    ("Walter", &["Walt"]),
    ("William", &["Bill", "Will", "Billy"]),
    ("Zachary", &["Zach"]),
];

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn nickname_table_is_sorted_and_found() {
        for w in NICKNAMES.windows(2) {
            assert!(w[0].0 < w[1].0, "{} !< {}", w[0].0, w[1].0);
        }
        assert!(nicknames("Robert").contains(&"Bob"));
        assert!(nicknames("William").contains(&"Bill"));
        assert!(nicknames("Elizabeth").contains(&"Liz"));
        assert!(nicknames("Zzz").is_empty());
    }

    #[test]
    fn folding_and_tables() {
        assert_eq!(fold_accents("José Peña Ibáñez"), "Jose Pena Ibanez");
        let n = Names::new();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let picks: Vec<_> = (0..2000).map(|_| n.surname.pick(&mut rng)).collect();
        let smiths = picks.iter().filter(|s| **s == "Smith").count();
        assert!(smiths > 40, "Smith should be common: {smiths}");
        // every name is encodable in windows-1252 (Latin-1 range) and has no delimiter
        for t in [SURNAMES, HISP_SURNAMES, ASIAN_SURNAMES, MALE_FIRST, FEMALE_FIRST, HISP_MALE_FIRST,
            HISP_FEMALE_FIRST, ASIAN_MALE_FIRST, ASIAN_FEMALE_FIRST] {
            for (name, _) in t {
                assert!(name.chars().all(|c| (c as u32) < 0x100 && c != '"' && c != '|' && c != ','));
            }
        }
    }
}

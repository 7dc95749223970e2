"""Word lists the demo generator draws from: people, companies, streets, engagements.

ASCII only, so the e-mail addresses built from them are valid as they stand.
"""

from typing import Final

FIRST_NAMES: Final = (
    "Aaron", "Abigail", "Adam", "Aisha", "Alan", "Alice", "Amara", "Amir", "Ana", "Andrew",
    "Anna", "Arjun", "Ava", "Ben", "Bianca", "Brian", "Caleb", "Camila", "Carlos", "Caroline",
    "Charlotte", "Chen", "Chloe", "Chris", "Claire", "Daniel", "David", "Diana", "Dmitri",
    "Elena", "Eli", "Elif", "Emily", "Emma", "Ethan", "Fatima", "Felix", "Fiona", "Gabriel",
    "Grace", "Hannah", "Harper", "Hiro", "Ibrahim", "Isabel", "Ivan", "Jack", "Jacob", "James",
    "Jasmine", "Jonas", "Julia", "Kai", "Karen", "Kenji", "Laura", "Leah", "Leo", "Liam", "Lucas",
    "Lucy", "Maya", "Mia", "Michael", "Mohammed", "Nadia", "Naomi", "Nathan", "Nina", "Noah",
    "Olivia", "Omar", "Oscar", "Paul", "Priya", "Rachel", "Rahul", "Rosa", "Ryan", "Samuel",
    "Sara", "Sofia", "Sophie", "Tariq", "Thomas", "Uma", "Victor", "William", "Yara", "Zoe",
)

LAST_NAMES: Final = (
    "Adams", "Ahmed", "Alvarez", "Anderson", "Baker", "Bennett", "Brooks", "Campbell", "Carter",
    "Chen", "Clarke", "Collins", "Cooper", "Davies", "Diaz", "Edwards", "Evans", "Fischer",
    "Foster", "Garcia", "Gonzalez", "Gray", "Green", "Hall", "Harris", "Hughes", "Ito", "Jackson",
    "Jensen", "Johnson", "Jones", "Kaur", "Kelly", "Khan", "Kim", "King", "Kowalski", "Lee",
    "Lewis", "Lopez", "Martin", "Meyer", "Mitchell", "Moore", "Morgan", "Murphy", "Nakamura",
    "Nguyen", "Novak", "O'Brien", "Okafor", "Park", "Patel", "Perez", "Phillips", "Price",
    "Reed", "Reyes", "Richter", "Roberts", "Robinson", "Rossi", "Sanchez", "Schmidt", "Scott",
    "Shah", "Silva", "Singh", "Smith", "Stewart", "Sullivan", "Tanaka", "Taylor", "Thomas",
    "Thompson", "Turner", "Walker", "Wang", "Ward", "Watson", "White", "Williams", "Wilson",
    "Wright", "Young", "Zhang",
)

COMPANY_STEMS: Final = (
    "Alder", "Anchor", "Apex", "Aurora", "Beacon", "Birchwood", "Bluewater", "Brightline",
    "Cascade", "Cedar", "Clearwater", "Cobalt", "Copperfield", "Crescent", "Crown", "Eastgate",
    "Evergreen", "Falcon", "Fairhaven", "Granite", "Greenfield", "Harbor", "Highland", "Horizon",
    "Ironbridge", "Juniper", "Keystone", "Lakeshore", "Lighthouse", "Maple", "Meridian",
    "Millbrook", "Northgate", "Oakridge", "Pinnacle", "Quarry", "Redwood", "Riverside",
    "Sagebrush", "Silverline", "Stonegate", "Summit", "Sunrise", "Thistle", "Trident",
    "Union", "Vantage", "Westbrook", "Willow", "Windmill",
)

INDUSTRIES: Final = (
    "Analytics", "Airlines", "Bank", "Biotech", "Brewing", "Capital", "Chemicals", "Energy",
    "Engineering", "Financial", "Foods", "Freight", "Health", "Hotels", "Insurance",
    "Logistics", "Manufacturing", "Media", "Medical", "Mining", "Motors", "Mutual", "Pharma",
    "Power", "Properties", "Retail", "Software", "Telecom", "Textiles", "Utilities",
)

COMPANY_SUFFIXES: Final = {
    "USD": ("Inc.", "Corp.", "Group", "Holdings", "LLC", "Partners"),
    "GBP": ("plc", "Ltd", "Group", "Holdings", "LLP"),
}

STREETS: Final = (
    "Market Street", "Main Street", "Park Avenue", "High Street", "Church Road", "King Street",
    "Station Road", "Commerce Drive", "Harbour Way", "Victoria Street", "Elm Street",
    "Oak Avenue", "Bridge Street", "Mill Lane", "Queen Street", "Riverside Drive",
)

ENGAGEMENTS: Final = {
    "Cloud": ("Cloud migration", "Platform modernisation", "FinOps review", "Landing zone build"),
    "Data": ("Data platform build", "Analytics roadmap", "Customer 360", "Data governance"),
    "Strategy": ("Operating model redesign", "Growth strategy", "Cost transformation",
                 "Post-merger integration"),
    "Security": ("Zero-trust programme", "SOC 2 readiness", "Identity modernisation",
                 "Security operations uplift"),
}

CHANGE_REASONS: Final = (
    "Additional workstream requested by the client",
    "Extended hypercare period",
    "Scope reduction after steering committee review",
    "Extra reporting requirements",
    "Second region added to scope",
    "Accelerated timeline with additional staff",
)

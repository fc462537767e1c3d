"""Writes the transaction set maps and dataele.xml of this directory from the compact spec below.

The XML files are what pyx12 and our fast validator read; this script is only how they were made
(run it again after changing the spec: `python adapters/x12/maps/_generate.py`). One map per
transaction set and version (850, 856 and 810, each for 004010 and 005010; the partners' functional
acknowledgments of what we send, 997 for 004010 and 999 for 005010): the control map of the version
with the set's BODY inside its GS_LOOP, ST01 limited to the set's own code.

One BODY serves 004010 and 005010 (their tables agree for what we map); where a length differs
between the versions, the wider one is used. Positions are the standard's (004010 numbering), with
the detail table at 1000 + and the summary table at 2000 + the standard position, so that the
positions rise through the whole set as pyx12 and our validator need. Segments and loops of the
standard that our partners do not send are left out (they are read as "not part of the set"):
hazardous material (LH1 loop), LM/LQ, V1/R4, FA1/FA2, YNQ, L7, BAL, INC, PAM, DMG, SR, PAL, TSD,
ETD, GF; 005010 also makes the 856 TD3 a loop with AT9, kept a plain segment here.

pyx12 ships 997 and 999 maps of its own, but for HIPAA (AK101 and AK201 limited to health-care
codes), so ours are written here: the 997 and 999 of the standard, with the 999's two CTX segments
of an IK3 loop as one (CTX01 the context, the rest situational). AK1 and AK2 carry the 005010
element (AK103, AK203) in both.

Deliberate choices beyond the standard: the 810 IT1 loop is mandatory (the standard makes it
optional, retail implementation guides make it "must use": we match invoice lines); HL03 has no
code list (pyx12 would read a bad level code as "segment not found"; the reader checks levels).

Code lists: on the first element of a segment pyx12 matches segments by their code list, so a bad
code would read as "segment not found"; there the list is written as an anchored <regex> instead.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from lxml import etree

HERE = Path(__file__).resolve().parent

# data element number: (type, min, max, name)
ELEMENTS = {
    "1": ("N0", 1, 6, "Count"),
    "2": ("N0", 1, 6, "Number of Accepted Transaction Sets"),
    "19": ("AN", 2, 30, "City Name"),
    "22": ("AN", 1, 30, "Commodity Code"),
    "23": ("ID", 1, 1, "Commodity Code Qualifier"),
    "24": ("ID", 2, 2, "Equipment Type"),
    "26": ("ID", 2, 3, "Country Code"),
    "40": ("ID", 2, 2, "Equipment Description Code"),
    "54": ("ID", 2, 2, "Risk of Loss Code"),
    "61": ("AN", 1, 30, "Free-Form Message"),
    "65": ("R", 1, 8, "Height"),
    "66": ("ID", 1, 2, "Identification Code Qualifier"),
    "67": ("AN", 2, 80, "Identification Code"),
    "76": ("AN", 1, 22, "Invoice Number"),
    "79": ("AN", 1, 50, "Lading Description"),
    "80": ("N0", 1, 7, "Lading Quantity"),
    "81": ("R", 1, 10, "Weight"),
    "82": ("R", 1, 8, "Length"),
    "87": ("AN", 1, 48, "Marks and Numbers"),
    "88": ("ID", 1, 2, "Marks and Numbers Qualifier"),
    "91": ("ID", 1, 2, "Transportation Method/Type Code"),
    "92": ("ID", 2, 2, "Purchase Order Type Code"),
    "93": ("AN", 1, 60, "Name"),
    "96": ("N0", 1, 10, "Number of Included Segments"),
    "98": ("ID", 2, 3, "Entity Identifier Code"),
    "100": ("ID", 3, 3, "Currency Code"),
    "103": ("AN", 3, 5, "Packaging Code"),
    "107": ("ID", 1, 2, "Payment Method Type Code"),
    "116": ("ID", 3, 15, "Postal Code"),
    "118": ("R", 1, 9, "Rate"),
    "123": ("N0", 1, 6, "Number of Received Transaction Sets"),
    "127": ("AN", 1, 50, "Reference Identification"),
    "128": ("ID", 2, 3, "Reference Identification Qualifier"),
    "133": ("ID", 1, 2, "Routing Sequence Code"),
    "140": ("ID", 2, 4, "Standard Carrier Alpha Code"),
    "143": ("ID", 3, 3, "Transaction Set Identifier Code"),
    "146": ("ID", 2, 2, "Shipment Method of Payment"),
    "152": ("ID", 2, 3, "Special Handling Code"),
    "156": ("ID", 2, 2, "State or Province Code"),
    "166": ("AN", 1, 55, "Address Information"),
    "183": ("R", 1, 8, "Volume"),
    "187": ("ID", 1, 2, "Weight Qualifier"),
    "188": ("ID", 1, 1, "Weight Unit Code"),
    "189": ("R", 1, 8, "Width"),
    "206": ("AN", 1, 4, "Equipment Initial"),
    "207": ("AN", 1, 15, "Equipment Number"),
    "208": ("ID", 1, 3, "Hazardous Material Code Qualifier"),
    "209": ("AN", 2, 10, "Hazardous Material Class Code"),
    "212": ("R", 1, 17, "Unit Price"),
    "225": ("AN", 2, 15, "Seal Number"),
    "234": ("AN", 1, 48, "Product/Service ID"),
    "235": ("ID", 2, 2, "Product/Service ID Qualifier"),
    "236": ("ID", 3, 3, "Price Identifier Code"),
    "248": ("ID", 1, 1, "Allowance or Charge Indicator"),
    "280": ("R", 4, 10, "Exchange Rate"),
    "284": ("ID", 1, 2, "Service Level Code"),
    "289": ("N0", 1, 2, "Multiple Price Quantity"),
    "306": ("ID", 1, 2, "Action Code"),
    "309": ("ID", 1, 2, "Location Qualifier"),
    "310": ("AN", 1, 30, "Location Identifier"),
    "324": ("AN", 1, 22, "Purchase Order Number"),
    "325": ("AN", 1, 20, "Tax Identification Number"),
    "326": ("AN", 1, 30, "Request Reference Number"),
    "327": ("AN", 1, 8, "Change Order Sequence Number"),
    "328": ("AN", 1, 30, "Release Number"),
    "329": ("AN", 4, 9, "Transaction Set Control Number"),
    "330": ("R", 1, 15, "Quantity Ordered"),
    "331": ("ID", 2, 2, "Allowance or Charge Method of Handling Code"),
    "332": ("R", 1, 6, "Percent"),
    "333": ("ID", 1, 2, "Terms Basis Date Code"),
    "334": ("ID", 2, 2, "Description Code"),
    "335": ("ID", 3, 3, "Transportation Terms Code"),
    "336": ("ID", 2, 2, "Terms Type Code"),
    "337": ("TM", 4, 8, "Time"),
    "338": ("R", 1, 6, "Terms Discount Percent"),
    "342": ("R", 1, 5, "Percent of Invoice Payable"),
    "347": ("R", 1, 10, "Hash Total"),
    "349": ("ID", 1, 1, "Item Description Type"),
    "350": ("AN", 1, 20, "Assigned Identification"),
    "351": ("N0", 1, 3, "Terms Discount Days Due"),
    "352": ("AN", 1, 80, "Description"),
    "353": ("ID", 2, 2, "Transaction Set Purpose Code"),
    "354": ("N0", 1, 6, "Number of Line Items"),
    "355": ("ID", 2, 2, "Unit or Basis for Measurement Code"),
    "356": ("N0", 1, 6, "Pack"),
    "357": ("R", 1, 8, "Size"),
    "358": ("R", 1, 15, "Quantity Invoiced"),
    "362": ("N2", 1, 10, "Terms Discount Amount"),
    "363": ("ID", 3, 3, "Note Reference Code"),
    "364": ("AN", 1, 256, "Communication Number"),
    "365": ("ID", 2, 2, "Communication Number Qualifier"),
    "366": ("ID", 2, 2, "Contact Function Code"),
    "367": ("AN", 1, 30, "Contract Number"),
    "368": ("ID", 2, 2, "Shipment/Order Status Code"),
    "369": ("AN", 1, 45, "Free-form Description"),
    "370": ("DT", 8, 8, "Terms Discount Due Date"),
    "371": ("ID", 2, 2, "Change Reason Code"),
    "373": ("DT", 8, 8, "Date"),
    "374": ("ID", 3, 3, "Date/Time Qualifier"),
    "378": ("ID", 1, 1, "Percent Qualifier"),
    "380": ("R", 1, 15, "Quantity"),
    "382": ("R", 1, 10, "Number of Units Shipped"),
    "383": ("R", 1, 9, "Quantity Difference"),
    "384": ("R", 1, 9, "Gross Weight per Pack"),
    "385": ("R", 1, 9, "Gross Volume per Pack"),
    "386": ("N0", 1, 3, "Terms Net Days"),
    "387": ("AN", 1, 35, "Routing"),
    "388": ("DT", 8, 8, "Terms Deferred Due Date"),
    "389": ("N2", 1, 10, "Deferred Amount Due"),
    "396": ("AN", 2, 30, "Shipment Identification"),
    "400": ("AN", 1, 4, "Unit Load Option Code"),
    "441": ("ID", 1, 1, "Tax Exempt Code"),
    "443": ("AN", 1, 20, "Contact Inquiry Reference"),
    "446": ("DT", 8, 8, "Terms Net Due Date"),
    "447": ("AN", 1, 4, "Loop Identifier Code"),
    "478": ("ID", 1, 1, "Credit/Debit Flag Code"),
    "499": ("AN", 1, 10, "Condition Value"),
    "508": ("AN", 1, 35, "Account Number"),
    "522": ("ID", 1, 3, "Amount Qualifier Code"),
    "559": ("ID", 2, 2, "Agency Qualifier Code"),
    "560": ("ID", 1, 2, "Special Services Code"),
    "563": ("ID", 1, 2, "Sales Requirement Code"),
    "566": ("ID", 1, 2, "Product/Service Substitution Code"),
    "587": ("ID", 2, 2, "Acknowledgment Type"),
    "610": ("N2", 1, 15, "Amount"),
    "618": ("ID", 1, 3, "Implementation Transaction Set Syntax Error Code"),
    "620": ("ID", 1, 3, "Implementation Segment Syntax Error Code"),
    "621": ("ID", 1, 3, "Implementation Data Element Syntax Error Code"),
    "622": ("N0", 1, 5, "Number of Loads"),
    "623": ("ID", 2, 2, "Time Code"),
    "628": ("AN", 1, 12, "Hierarchical ID Number"),
    "639": ("ID", 2, 2, "Basis of Unit Price Code"),
    "640": ("ID", 2, 2, "Transaction Type Code"),
    "641": ("ID", 3, 3, "Status Reason Code"),
    "646": ("R", 1, 9, "Quantity Shipped to Date"),
    "648": ("ID", 3, 3, "Price Multiplier Qualifier"),
    "649": ("R", 1, 10, "Multiplier"),
    "662": ("ID", 1, 1, "Relationship Code"),
    "668": ("ID", 2, 2, "Line Item Status Code"),
    "669": ("ID", 3, 3, "Currency Market/Exchange Code"),
    "673": ("ID", 2, 2, "Quantity Qualifier"),
    "687": ("ID", 2, 2, "Class of Trade Code"),
    "704": ("ID", 1, 2, "Paperwork/Report Action Code"),
    "706": ("ID", 2, 2, "Entity Relationship Code"),
    "715": ("ID", 1, 1, "Functional Group Acknowledgment Code"),
    "716": ("ID", 1, 3, "Functional Group Syntax Error Code"),
    "717": ("ID", 1, 1, "Transaction Set Acknowledgment Code"),
    "718": ("ID", 1, 3, "Transaction Set Syntax Error Code"),
    "719": ("N0", 1, 6, "Segment Position in Transaction Set"),
    "720": ("ID", 1, 3, "Segment Syntax Error Code"),
    "721": ("ID", 2, 3, "Segment ID Code"),
    "722": ("N0", 1, 2, "Element Position in Segment"),
    "723": ("ID", 1, 3, "Data Element Syntax Error Code"),
    "724": ("AN", 1, 99, "Copy of Bad Data Element"),
    "725": ("N0", 1, 4, "Data Element Reference Number"),
    "728": ("AN", 1, 2, "Returnable Container Load Make-Up Code"),
    "731": ("ID", 2, 2, "Transit Direction Code"),
    "732": ("ID", 2, 3, "Transit Time Direction Qualifier"),
    "733": ("R", 1, 4, "Transit Time"),
    "734": ("AN", 1, 12, "Hierarchical Parent ID Number"),
    "735": ("ID", 1, 2, "Hierarchical Level Code"),
    "736": ("ID", 1, 1, "Hierarchical Child Code"),
    "737": ("ID", 2, 2, "Measurement Reference ID Code"),
    "738": ("ID", 1, 3, "Measurement Qualifier"),
    "739": ("R", 1, 20, "Measurement Value"),
    "740": ("R", 1, 20, "Range Minimum"),
    "741": ("R", 1, 20, "Range Maximum"),
    "750": ("ID", 2, 3, "Product/Process Characteristic Code"),
    "751": ("AN", 1, 12, "Product Description Code"),
    "752": ("ID", 2, 2, "Surface/Layer/Position Code"),
    "753": ("ID", 1, 2, "Packaging Characteristic Code"),
    "754": ("AN", 1, 7, "Packaging Description Code"),
    "755": ("ID", 2, 2, "Report Type Code"),
    "756": ("ID", 1, 2, "Report Transmission Code"),
    "757": ("N0", 1, 2, "Report Copies Needed"),
    "765": ("N0", 1, 2, "Day of Month"),
    "770": ("AN", 1, 30, "Option Number"),
    "782": ("R", 1, 18, "Monetary Amount"),
    "786": ("ID", 2, 2, "Security Level Code"),
    "810": ("N0", 1, 6, "Inner Pack"),
    "819": ("ID", 2, 3, "Language Code"),
    "822": ("AN", 1, 15, "Source Subqualifier"),
    "828": ("R", 1, 9, "Dollar Basis For Percent"),
    "933": ("AN", 1, 264, "Free-Form Message Text"),
    "934": ("ID", 2, 2, "Printer Carriage Control Code"),
    "935": ("ID", 2, 2, "Measurement Significance Code"),
    "936": ("ID", 1, 2, "Measurement Attribute Code"),
    "954": ("R", 1, 10, "Percentage as Decimal"),
    "955": ("ID", 1, 2, "Tax Jurisdiction Code Qualifier"),
    "956": ("AN", 1, 30, "Tax Jurisdiction Code"),
    "963": ("ID", 2, 2, "Tax Type Code"),
    "1000": ("ID", 2, 2, "Service Characteristics Qualifier"),
    "1005": ("ID", 4, 4, "Hierarchical Structure Code"),
    "1018": ("R", 1, 15, "Exponent"),
    "1019": ("ID", 3, 3, "Invoice Type Code"),
    "1073": ("ID", 1, 1, "Yes/No Condition or Response Code"),
    "1136": ("ID", 2, 2, "Code Category"),
    "1166": ("ID", 2, 2, "Contract Type Code"),
    "1232": ("ID", 2, 2, "Acknowledgment Type"),
    "1250": ("ID", 2, 3, "Date Time Period Format Qualifier"),
    "1251": ("AN", 1, 35, "Date Time Period"),
    "1300": ("ID", 4, 4, "Service, Promotion, Allowance, or Charge Code"),
    "1301": ("AN", 1, 10, "Agency Service, Promotion, Allowance, or Charge Code"),
    "1321": ("ID", 2, 3, "Condition Indicator"),
    "1373": ("ID", 1, 2, "Layer/Position Code"),
    "1470": ("N0", 1, 9, "Number"),
    "1525": ("ID", 1, 2, "Request Category Code"),
    "1528": ("N0", 1, 2, "Component Data Element Position in Composite"),
    "1686": ("N0", 1, 4, "Repeating Data Element Position"),
    "1705": ("AN", 1, 35, "Implementation Convention Reference"),
    "1715": ("ID", 1, 3, "Country Subdivision Code"),
    "9998": ("AN", 1, 35, "Context Reference"),
    "9999": ("AN", 1, 35, "Context Name"),
}

PURPOSE_CODES = [
    "00", "01", "02", "03", "04", "05", "06", "07", "08", "10", "11", "12", "13", "14", "15", "16", "17", "18",
    "19", "20", "21", "22", "24", "25", "26", "27", "28", "30", "31", "32", "33", "34", "35", "36", "37", "38",
    "39", "40", "41", "42", "43", "44", "45", "46", "47", "48", "49", "50", "51", "52", "53", "54", "55", "56",
    "77", "CN", "CO", "EX", "GR", "PR", "RH", "RV", "SU", "ZZ",
]
SET_ACKNOWLEDGMENT_CODES = ["A", "E", "M", "R", "W", "X"]  # AK501 / IK501; AK901 adds P (partially accepted)
CODES = {"BEG01": PURPOSE_CODES, "BSN01": PURPOSE_CODES, "PID01": ["F", "S", "X"], "SAC01": ["A", "C", "N"],
         "AK501": SET_ACKNOWLEDGMENT_CODES, "IK501": SET_ACKNOWLEDGMENT_CODES,
         "AK901": ["A", "E", "M", "P", "R", "W", "X"]}


def C(ele, *children, usage="S"):
    """A composite: its data element number and (ele, usage) children."""
    return ("C", ele, usage, list(children))


def _pairs(a, b, n):
    return [(a, "S"), (b, "S")] * n


C001 = C("C001", ("355", "R"), ("1018", "S"), ("649", "S"), *[("355", "S"), ("1018", "S"), ("649", "S")] * 4)
C030 = C("C030", ("722", "R"), ("1528", "S"), ("1686", "S"), usage="R")  # position in segment: element, component, repeat
C040 = C("C040", ("128", "R"), ("127", "R"), ("128", "S"), ("127", "S"), ("128", "S"), ("127", "S"))
DT_TM = [("374", "S"), ("373", "S"), ("337", "S")]

SEGMENTS = {
    "ST": [("143", "R"), ("329", "R"), ("1705", "S")],
    "BEG": [("353", "R"), ("92", "R"), ("324", "R"), ("328", "S"), ("373", "R"), ("367", "S"),
            ("587", "S"), ("1019", "S"), ("1166", "S"), ("1232", "S"), ("786", "S"), ("640", "S")],
    "CUR": [("98", "R"), ("100", "R"), ("280", "S"), ("98", "S"), ("100", "S"), ("669", "S")] + DT_TM * 5,
    "REF": [("128", "R"), ("127", "S"), ("352", "S"), C040],
    "PER": [("366", "R"), ("93", "S")] + _pairs("365", "364", 3) + [("443", "S")],
    "TAX": [("325", "S")] + _pairs("309", "310", 5) + [("441", "S"), ("1", "S")],
    "FOB": [("146", "R"), ("309", "S"), ("352", "S"), ("334", "S"), ("335", "S"), ("309", "S"),
            ("352", "S"), ("54", "S"), ("352", "S")],
    "CTP": [("687", "S"), ("236", "S"), ("212", "S"), ("380", "S"), C001, ("648", "S"), ("649", "S"),
            ("782", "S"), ("639", "S"), ("499", "S"), ("289", "S")],
    "CSH": [("563", "S"), ("306", "S"), ("610", "S"), ("508", "S"), ("373", "S"), ("560", "S"),
            ("566", "S"), ("954", "S"), ("380", "S")],
    "TC2": [("23", "R"), ("22", "R")],
    "IT8": [("563", "S"), ("306", "S"), ("610", "S"), ("508", "S"), ("373", "S"), ("560", "S"),
            ("566", "S"), ("954", "S"), ("380", "S")],
    "SAC": [("248", "R"), ("1300", "S"), ("559", "S"), ("1301", "S"), ("610", "S"), ("378", "S"),
            ("332", "S"), ("118", "S"), ("355", "S"), ("380", "S"), ("380", "S"), ("331", "S"),
            ("127", "S"), ("770", "S"), ("352", "S"), ("819", "S")],
    "ITD": [("336", "S"), ("333", "S"), ("338", "S"), ("370", "S"), ("351", "S"), ("446", "S"),
            ("386", "S"), ("362", "S"), ("388", "S"), ("389", "S"), ("342", "S"), ("352", "S"),
            ("765", "S"), ("107", "S"), ("954", "S")],
    "DTM": [("374", "R"), ("373", "S"), ("337", "S"), ("623", "S"), ("1250", "S"), ("1251", "S")],
    "SI": [("559", "R")] + _pairs("1000", "234", 10),
    "PID": [("349", "R"), ("750", "S"), ("559", "S"), ("751", "S"), ("352", "S"), ("752", "S"),
            ("822", "S"), ("1073", "S"), ("819", "S")],
    "MEA": [("737", "S"), ("738", "S"), ("739", "S"), C001, ("740", "S"), ("741", "S"),
            ("935", "S"), ("936", "S"), ("752", "S"), ("1373", "S")],
    "PKG": [("349", "R"), ("753", "S"), ("559", "S"), ("754", "S"), ("352", "S"), ("400", "S")],
    "TD1": [("103", "S"), ("80", "S"), ("23", "S"), ("22", "S"), ("79", "S"), ("187", "S"),
            ("81", "S"), ("355", "S"), ("183", "S"), ("355", "S")],
    "TD5": [("133", "S"), ("66", "S"), ("67", "S"), ("91", "S"), ("387", "S"), ("368", "S"),
            ("309", "S"), ("310", "S"), ("731", "S"), ("732", "S"), ("733", "S"), ("284", "S"),
            ("284", "S"), ("26", "S"), ("309", "S")],
    "TD3": [("40", "S"), ("206", "S"), ("207", "S"), ("187", "S"), ("81", "S"), ("188", "S"),
            ("225", "S"), ("24", "S"), ("1073", "S")],
    "TD4": [("152", "S"), ("208", "S"), ("209", "S"), ("352", "S"), ("1073", "S")],
    "MAN": [("88", "R"), ("87", "R"), ("87", "S"), ("88", "S"), ("87", "S"), ("87", "S")],
    "TXI": [("963", "R"), ("782", "S"), ("954", "S"), ("955", "S"), ("956", "S"), ("441", "S"),
            ("662", "S"), ("828", "S"), ("325", "S"), ("350", "S")],
    "AMT": [("522", "R"), ("782", "R"), ("478", "S")],
    "N9": [("128", "R"), ("127", "S"), ("369", "S"), ("373", "S"), ("337", "S"), ("623", "S"), C040],
    "MSG": [("933", "R"), ("934", "S"), ("1470", "S")],
    "N1": [("98", "R"), ("93", "S"), ("66", "S"), ("67", "S"), ("706", "S"), ("98", "S")],
    "N2": [("93", "R"), ("93", "S")],
    "N3": [("166", "R"), ("166", "S")],
    "N4": [("19", "S"), ("156", "S"), ("116", "S"), ("26", "S"), ("309", "S"), ("310", "S"), ("1715", "S")],
    "PO1": [("350", "S"), ("330", "S"), ("355", "S"), ("212", "S"), ("639", "S")] + _pairs("235", "234", 10),
    "PO3": [("371", "R"), ("373", "S"), ("236", "S"), ("212", "S"), ("639", "S"), ("380", "R"),
            ("355", "R"), ("352", "S")],
    "PO4": [("356", "S"), ("357", "S"), ("355", "S"), ("103", "S"), ("187", "S"), ("384", "S"),
            ("355", "S"), ("385", "S"), ("355", "S"), ("82", "S"), ("189", "S"), ("65", "S"),
            ("355", "S"), ("810", "S"), ("752", "S"), ("350", "S"), ("350", "S"), ("1470", "S")],
    "SDQ": [("355", "R"), ("66", "S")] + [("67", "R"), ("380", "R")] + _pairs("67", "380", 9) + [("310", "S")],
    "SCH": [("380", "R"), ("355", "R"), ("98", "S"), ("93", "S"), ("374", "R"), ("373", "R"),
            ("337", "S"), ("374", "S"), ("373", "S"), ("337", "S"), ("326", "S"), ("350", "S")],
    "SLN": [("350", "R"), ("350", "S"), ("662", "R"), ("380", "S"), C001, ("212", "S"), ("639", "S"),
            ("662", "S")] + _pairs("235", "234", 10),
    "CTT": [("354", "R"), ("347", "S"), ("81", "S"), ("355", "S"), ("183", "S"), ("355", "S"), ("352", "S")],
    "SE": [("96", "R"), ("329", "R")],
    # 856
    "BSN": [("353", "R"), ("396", "R"), ("373", "R"), ("337", "R"), ("1005", "S"), ("640", "S"), ("641", "S")],
    "HL": [("628", "R"), ("734", "S"), ("735", "R"), ("736", "S")],
    "LIN": [("350", "S"), ("235", "R"), ("234", "R")] + _pairs("235", "234", 14),
    "SN1": [("350", "S"), ("382", "R"), ("355", "R"), ("646", "S"), ("330", "S"), ("355", "S"), ("728", "S"),
            ("668", "S")],
    "PRF": [("324", "R"), ("328", "S"), ("327", "S"), ("373", "S"), ("350", "S"), ("367", "S"), ("92", "S")],
    "PWK": [("755", "R"), ("756", "S"), ("757", "S"), ("98", "S"), ("66", "S"), ("67", "S"), ("352", "S"),
            C("C002", ("704", "R"), *[("704", "S")] * 4), ("1525", "S")],
    "CLD": [("622", "R"), ("382", "R"), ("103", "S"), ("357", "S"), ("355", "S")],
    "DTP": [("374", "R"), ("1250", "R"), ("1251", "R")],
    # 810
    "BIG": [("373", "R"), ("76", "R"), ("373", "S"), ("324", "S"), ("328", "S"), ("327", "S"), ("640", "S"),
            ("353", "S"), ("306", "S"), ("76", "S")],
    "NTE": [("363", "S"), ("352", "R")],
    "IT1": [("350", "S"), ("358", "S"), ("355", "S"), ("212", "S"), ("639", "S")] + _pairs("235", "234", 10),
    "CRC": [("1136", "R"), ("1073", "R"), ("1321", "R")] + [("1321", "S")] * 4,
    "QTY": [("673", "R"), ("380", "S"), C001, ("61", "S")],
    "IT3": [("382", "S"), ("355", "S"), ("368", "S"), ("383", "S"), ("371", "S")],
    "TDS": [("610", "R"), ("610", "S"), ("610", "S"), ("610", "S")],
    "CAD": [("91", "S"), ("206", "S"), ("207", "S"), ("140", "S"), ("387", "S"), ("368", "S"), ("128", "S"),
            ("127", "S"), ("284", "S")],
    "ISS": [("382", "S"), ("355", "S"), ("81", "S"), ("355", "S"), ("183", "S"), ("355", "S"), ("380", "S"),
            ("81", "S")],
    # 997 / 999
    "AK1": [("479", "R"), ("28", "R"), ("480", "S")],
    "AK2": [("143", "R"), ("329", "R"), ("1705", "S")],
    "AK3": [("721", "R"), ("719", "R"), ("447", "S"), ("720", "S")],
    "AK4": [C030, ("725", "S"), ("723", "R"), ("724", "S")],
    "AK5": [("717", "R")] + [("718", "S")] * 5,
    "AK9": [("715", "R"), ("97", "R"), ("123", "R"), ("2", "R")] + [("716", "S")] * 5,
    "IK3": [("721", "R"), ("719", "R"), ("447", "S"), ("620", "S")],
    "CTX": [C("C998", ("9999", "R"), ("9998", "S"), usage="R"), ("721", "S"), ("719", "S"), ("447", "S"),
            C("C030", ("722", "R"), ("1528", "S"), ("1686", "S")), C("C999", ("725", "R"), ("725", "S"))],
    "IK4": [C030, ("725", "S"), ("621", "R"), ("724", "S")],
    "IK5": [("717", "R")] + [("618", "S")] * 5,
}

# (segment id, usage, pos, max_use) or ("LOOP", loop id, usage, pos, repeat, children)
def S(seg, usage, pos, max_use):
    return (seg, usage, pos, max_use)


def L(loop_id, usage, pos, repeat, *children):
    return ("LOOP", loop_id, usage, pos, repeat, list(children))


def _n1_loop(base):
    return L("N1_LOOP", "S", base, "200",
             S("N1", "R", base, "1"), S("N2", "S", base + 10, "2"), S("N3", "S", base + 20, "2"),
             S("N4", "S", base + 30, ">1"), S("REF", "S", base + 40, "12"), S("PER", "S", base + 50, ">1"),
             S("SI", "S", base + 60, ">1"), S("DTM", "S", base + 65, "1"), S("FOB", "S", base + 70, "1"),
             S("SCH", "S", base + 72, "200"), S("TD1", "S", base + 75, "2"), S("TD5", "S", base + 80, "12"),
             S("TD3", "S", base + 85, "12"), S("TD4", "S", base + 90, "5"), S("PKG", "S", base + 95, "200"))


def _party_loop(base, fob=False):
    """The N1 loop of the 856 and 810 (the 850's has more in it)."""
    fob_segment = [S("FOB", "S", base + 60, "1")] if fob else []
    return L("N1_LOOP", "S", base, "200",
             S("N1", "R", base, "1"), S("N2", "S", base + 10, "2"), S("N3", "S", base + 20, "2"),
             S("N4", "S", base + 30, "1"), S("REF", "S", base + 40, "12"), S("PER", "S", base + 50, "3"),
             *fob_segment)


def _amt_loop(base):
    return L("AMT_LOOP", "S", base, ">1", S("AMT", "R", base, "1"), S("REF", "S", base + 1, ">1"),
             S("DTM", "S", base + 2, "1"))


PURCHASE_ORDER = [
    S("ST", "R", 10, "1"), S("BEG", "R", 20, "1"), S("CUR", "S", 40, "1"), S("REF", "S", 50, ">1"),
    S("PER", "S", 60, "3"), S("TAX", "S", 70, ">1"), S("FOB", "S", 80, ">1"), S("CTP", "S", 90, ">1"),
    S("CSH", "S", 110, "5"), S("TC2", "S", 115, ">1"),
    L("SAC_LOOP", "S", 120, "25", S("SAC", "R", 120, "1"), S("CUR", "S", 125, "1")),
    S("ITD", "S", 130, ">1"), S("DTM", "S", 150, "10"), S("SI", "S", 185, ">1"), S("PID", "S", 190, "200"),
    S("MEA", "S", 200, "40"), S("PKG", "S", 220, "200"), S("TD1", "S", 230, "2"), S("TD5", "S", 240, "12"),
    S("TD3", "S", 250, "12"), S("TD4", "S", 260, "5"), S("MAN", "S", 270, "10"), S("TXI", "S", 285, ">1"),
    _amt_loop(287),
    L("N9_LOOP", "S", 295, "1000", S("N9", "R", 295, "1"), S("DTM", "S", 296, ">1"), S("MSG", "S", 300, "1000")),
    _n1_loop(310),
    L("PO1_LOOP", "R", 1010, "100000",
      S("PO1", "R", 1010, "1"), S("SI", "S", 1018, ">1"), S("CUR", "S", 1020, "1"), S("PO3", "S", 1030, "25"),
      S("CTP", "S", 1040, ">1"), S("MEA", "S", 1049, "40"),
      L("PID_LOOP", "S", 1050, "1000", S("PID", "R", 1050, "1"), S("MEA", "S", 1060, "10")),
      S("PKG", "S", 1070, ">1"), S("PO4", "S", 1090, ">1"), S("REF", "S", 1100, ">1"), S("PER", "S", 1110, "3"),
      L("SAC_LOOP", "S", 1130, "25", S("SAC", "R", 1130, "1"), S("CUR", "S", 1135, "1")),
      S("IT8", "S", 1135, ">1"), S("CSH", "S", 1136, "5"), S("ITD", "S", 1140, ">1"), S("TAX", "S", 1160, ">1"), S("FOB", "S", 1170, ">1"),
      S("SDQ", "S", 1180, "500"), S("DTM", "S", 1210, "10"), S("TC2", "S", 1220, ">1"), S("TD1", "S", 1230, "1"),
      S("TD5", "S", 1240, "12"), S("TD3", "S", 1250, "12"), S("TD4", "S", 1260, "5"), S("MAN", "S", 1270, "10"),
      S("MSG", "S", 1280, ">1"), S("TXI", "S", 1285, ">1"),
      L("SCH_LOOP", "S", 1295, "200", S("SCH", "R", 1295, "1"), S("TD1", "S", 1296, "2"),
        S("TD5", "S", 1297, "12"), S("TD3", "S", 1298, "12"), S("TD4", "S", 1299, "5"), S("REF", "S", 1300, ">1")),
      L("N9_LOOP", "S", 1350, "1000", S("N9", "R", 1350, "1"), S("DTM", "S", 1360, ">1"),
        S("MEA", "S", 1370, "40"), S("MSG", "S", 1380, "1000")),
      _n1_loop(1400),
      L("SLN_LOOP", "S", 1540, "1000", S("SLN", "R", 1540, "1"), S("MSG", "S", 1545, ">1"),
        S("SI", "S", 1548, ">1"), S("PID", "S", 1550, "1000"), S("PO3", "S", 1560, "104"),
        S("TC2", "S", 1565, ">1"), S("CTP", "S", 1580, "25"), S("PO4", "S", 1590, "1"), S("TAX", "S", 1600, "3")),
      _amt_loop(1700)),
    L("CTT_LOOP", "S", 2010, "1", S("CTT", "R", 2010, "1"), S("AMT", "S", 2020, "1")),
    S("SE", "R", 2030, "1"),
]

# The HL loop is one flat repeating loop, as in the standard: the hierarchy lives in HL01/HL02 and
# is checked and linked by the reader (adapters/x12/hierarchy.py).
SHIP_NOTICE = [
    S("ST", "R", 10, "1"), S("BSN", "R", 20, "1"), S("DTM", "S", 40, "10"),
    L("HL_LOOP", "R", 1010, "200000",
      S("HL", "R", 1010, "1"), S("LIN", "S", 1020, "1"), S("SN1", "S", 1030, "1"), S("SLN", "S", 1040, "1000"),
      S("PRF", "S", 1050, "1"), S("PO4", "S", 1060, "1"), S("PID", "S", 1070, "200"), S("MEA", "S", 1080, "40"),
      S("PWK", "S", 1090, "25"), S("PKG", "S", 1100, "25"), S("TD1", "S", 1110, "20"), S("TD5", "S", 1120, "12"),
      S("TD3", "S", 1130, "12"), S("TD4", "S", 1140, "5"), S("REF", "S", 1150, ">1"), S("PER", "S", 1160, "3"),
      L("CLD_LOOP", "S", 1170, "200", S("CLD", "R", 1170, "1"), S("REF", "S", 1180, "200"), S("DTP", "S", 1185, "1")),
      S("MAN", "S", 1190, ">1"), S("DTM", "S", 1200, "10"), S("FOB", "S", 1210, "1"),
      _party_loop(1220, fob=True),
      S("SDQ", "S", 1290, "50"), S("CUR", "S", 1310, "1"),
      L("SAC_LOOP", "S", 1320, ">1", S("SAC", "R", 1320, "1"), S("CUR", "S", 1325, "1"))),
    S("CTT", "S", 2010, "1"),
    S("SE", "R", 2020, "1"),
]

INVOICE = [
    S("ST", "R", 10, "1"), S("BIG", "R", 20, "1"), S("NTE", "S", 30, "100"), S("CUR", "S", 40, "1"),
    S("REF", "S", 50, "12"), S("PER", "S", 60, "3"), _party_loop(70), S("ITD", "S", 130, ">1"),
    S("DTM", "S", 140, "10"), S("FOB", "S", 150, "1"), S("PID", "S", 160, "200"), S("MEA", "S", 170, "40"),
    S("PWK", "S", 180, "25"), S("PKG", "S", 190, "25"),
    L("N9_LOOP", "S", 250, "1", S("N9", "R", 250, "1"), S("MSG", "S", 260, "10")),
    L("IT1_LOOP", "R", 1010, "200000",
      S("IT1", "R", 1010, "1"), S("CRC", "S", 1012, "1"), S("QTY", "S", 1015, "5"), S("CUR", "S", 1020, "1"),
      S("IT3", "S", 1030, "5"), S("TXI", "S", 1040, "10"), S("CTP", "S", 1050, "25"), S("MEA", "S", 1059, "40"),
      L("PID_LOOP", "S", 1060, "1000", S("PID", "R", 1060, "1"), S("MEA", "S", 1070, "10")),
      S("PWK", "S", 1080, "25"), S("PKG", "S", 1090, "25"), S("PO4", "S", 1100, "1"), S("ITD", "S", 1110, "2"),
      S("REF", "S", 1120, ">1"), S("PER", "S", 1130, "5"), S("SDQ", "S", 1140, "500"), S("DTM", "S", 1150, "10"),
      S("CAD", "S", 1160, ">1"),
      L("SAC_LOOP", "S", 1180, "25", S("SAC", "R", 1180, "1"), S("TXI", "S", 1190, "10")),
      L("SLN_LOOP", "S", 1200, "1000", S("SLN", "R", 1200, "1"), S("DTM", "S", 1205, "1"),
        S("REF", "S", 1210, ">1"), S("PID", "S", 1220, "1000"), S("SAC", "S", 1230, "25"),
        S("TC2", "S", 1235, "2"), S("TXI", "S", 1237, "10")),
      _party_loop(1240)),
    S("TDS", "R", 2010, "1"), S("TXI", "S", 2020, "10"), S("CAD", "S", 2030, "1"), S("AMT", "S", 2035, ">1"),
    L("SAC_LOOP", "S", 2040, "25", S("SAC", "R", 2040, "1"), S("TXI", "S", 2050, "10")),
    L("ISS_LOOP", "S", 2060, ">1", S("ISS", "R", 2060, "1"), S("PID", "S", 2061, "1")),
    S("CTT", "S", 2070, "1"),
    S("SE", "R", 2080, "1"),
]

FUNCTIONAL_ACKNOWLEDGMENT = [
    S("ST", "R", 10, "1"), S("AK1", "R", 20, "1"),
    L("AK2_LOOP", "S", 30, "999999",
      S("AK2", "R", 30, "1"),
      L("AK3_LOOP", "S", 40, "999999", S("AK3", "R", 40, "1"), S("AK4", "S", 50, "99")),
      S("AK5", "R", 60, "1")),
    S("AK9", "R", 70, "1"),
    S("SE", "R", 80, "1"),
]

IMPLEMENTATION_ACKNOWLEDGMENT = [
    S("ST", "R", 100, "1"), S("AK1", "R", 200, "1"),
    L("AK2_LOOP", "S", 300, ">1",
      S("AK2", "R", 300, "1"),
      L("IK3_LOOP", "S", 400, ">1",
        S("IK3", "R", 400, "1"), S("CTX", "S", 500, "10"),
        L("IK4_LOOP", "S", 600, ">1", S("IK4", "R", 600, "1"), S("CTX", "S", 700, "10"))),
      S("IK5", "R", 800, "1")),
    S("AK9", "R", 900, "1"),
    S("SE", "R", 1000, "1"),
]

VERSIONS = ("4010", "5010")
# ST01: (title, body, versions)
TRANSACTION_SETS = {"850": ("Purchase Order", PURCHASE_ORDER, VERSIONS),
                    "856": ("Ship Notice/Manifest", SHIP_NOTICE, VERSIONS),
                    "810": ("Invoice", INVOICE, VERSIONS),
                    "997": ("Functional Acknowledgment", FUNCTIONAL_ACKNOWLEDGMENT, ("4010",)),
                    "999": ("Implementation Acknowledgment", IMPLEMENTATION_ACKNOWLEDGMENT, ("5010",))}


def _text(parent, tag, text):
    etree.SubElement(parent, tag).text = text


def _element(parent, codes, seg_id, seq, ele, usage, ref=None):
    ref = ref or f"{seg_id}{seq:02d}"
    node = etree.SubElement(parent, "element", xid=ref)
    _text(node, "data_ele", ele)
    _text(node, "name", ELEMENTS[ele][3] if ele in ELEMENTS else _shipped_elements()[ele].get("name"))
    _text(node, "usage", usage)
    _text(node, "seq", f"{seq:02d}")
    codes = codes.get(ref)
    if codes and seq == 1 and parent.tag == "segment":
        _text(node, "regex", "^(" + "|".join(codes) + ")$")
    elif codes:
        valid = etree.SubElement(node, "valid_codes")
        for code in codes:
            _text(valid, "code", code)


def _segment(parent, codes, seg_id, usage, pos, max_use):
    node = etree.SubElement(parent, "segment", xid=seg_id)
    _text(node, "name", seg_id)
    _text(node, "usage", usage)
    _text(node, "pos", f"{pos:04d}")
    _text(node, "max_use", max_use)
    for seq, spec in enumerate(SEGMENTS[seg_id], 1):
        if spec[0] == "C":
            _, ele, c_usage, children = spec
            comp = etree.SubElement(node, "composite", xid=f"{seg_id}{seq:02d}")
            _text(comp, "data_ele", ele)
            _text(comp, "name", ele)
            _text(comp, "usage", c_usage)
            _text(comp, "seq", f"{seq:02d}")
            for sub, (sub_ele, sub_usage) in enumerate(children, 1):
                _element(comp, codes, seg_id, sub, sub_ele, sub_usage, ref=f"{seg_id}{seq:02d}-{sub:02d}")
        else:
            _element(node, codes, seg_id, seq, *spec)


def _children(parent, children, codes):
    for child in children:
        if child[0] == "LOOP":
            _, loop_id, usage, pos, repeat, sub = child
            loop = etree.SubElement(parent, "loop", xid=loop_id, type="explicit")
            _text(loop, "name", loop_id)
            _text(loop, "usage", usage)
            _text(loop, "pos", f"{pos:04d}")
            _text(loop, "repeat", repeat)
            _children(loop, sub, codes)
        else:
            _segment(parent, codes, *child)


def build_map(set_id: str, version: str) -> etree._ElementTree:
    """The control map of `version` with the ST_LOOP of transaction set `set_id` inside its GS_LOOP."""
    title, body, _ = TRANSACTION_SETS[set_id]
    control_file = HERE / f"x12.control.00{version[0]}01.xml"
    control = etree.parse(str(control_file), etree.XMLParser(remove_blank_text=True))
    root = control.getroot()
    root.set("xid", set_id)
    root.find("name").text = f"{title} {set_id} ({version})"
    gs_loop = root.find("loop/loop[@xid='GS_LOOP']")
    st_loop = etree.Element("loop", xid="ST_LOOP", type="explicit")
    _text(st_loop, "name", "Transaction Set Header")
    _text(st_loop, "usage", "R")
    _text(st_loop, "pos", "0020")
    _text(st_loop, "repeat", ">1")
    _children(st_loop, body, {**CODES, "ST01": [set_id]})
    gs_loop.find("segment[@xid='GS']").addnext(st_loop)
    return control


@cache
def _shipped_elements() -> dict[str, etree._Element]:
    """pyx12's own data elements (the installed package's dataele.xml), by number, in its order."""
    import pyx12

    shipped = etree.parse(str(Path(pyx12.__file__).parent / "map" / "dataele.xml"))
    return {node.get("ele_num"): node for node in shipped.getroot().iter("data_ele")}


def write_dataele() -> None:
    """Our elements plus the ones the control maps use, taken from pyx12's own dataele.xml."""
    used = set()
    for name in ("x12.control.00401.xml", "x12.control.00501.xml"):
        used |= {e.text for e in etree.parse(str(HERE / name)).iter("data_ele")}
    root = etree.Element("data_elements")
    for number, node in _shipped_elements().items():
        if number in used and number not in ELEMENTS:
            root.append(node)
    for num, (dtype, lo, hi, name) in ELEMENTS.items():
        etree.SubElement(root, "data_ele", ele_num=num, data_type=dtype, min_len=str(lo), max_len=str(hi), name=name)
    etree.ElementTree(root).write(str(HERE / "dataele.xml"), pretty_print=True, xml_declaration=True, encoding="utf-8")


if __name__ == "__main__":
    for set_id, (_, _, versions) in TRANSACTION_SETS.items():
        for version in versions:
            build_map(set_id, version).write(str(HERE / f"{set_id}.{version}.xml"), pretty_print=True,
                                             xml_declaration=True, encoding="utf-8")
    write_dataele()
